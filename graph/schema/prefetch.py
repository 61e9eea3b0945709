"""What a query asks ahead of its resolvers, read from its selection: a ``customer(number:)``'s
listings, for ``resolvers.prefetch`` to start them with the record (see there why); and how many jobs
at most a query asks the tasks of, for ``resolvers.plan`` to choose their access path early."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from strawberry.types import Info
from strawberry.types.nodes import SelectedField, Selection

from graph.schema.connections import flattened, window_args
from graph.schema.errors import GraphError
from graph.schema.jobs import Job
from resolvers.prefetch import CustomerListings


def _window(arguments: dict[str, Any]) -> tuple[int, int] | None:
    # Literal arguments arrive as their source text ("100"), variables as values.
    try:
        after = arguments.get("after")
        return window_args(int(arguments.get("first", 25)), None if after is None else str(after))
    except (GraphError, TypeError, ValueError):
        return None  # the field itself will report the bad argument


def customer_listings(info: Info[Any, Any]) -> CustomerListings:
    """What a ``customer(number:)`` asks of its listings (none under a directive)."""
    return _listings(
        field
        for root in info.selected_fields
        for field in flattened(root.selections, directed=False)
    )


def node_listings(info: Info[Any, Any]) -> CustomerListings:
    """What every node of a ``customers`` connection asks of its customer's listings: fields of
    ``nodes`` or ``edges { node }`` (none under a directive)."""
    return _listings(
        field
        for root in info.selected_fields
        for node in _nodes(root.selections)
        for field in flattened(node.selections, directed=False)
    )


def _listings(fields: Iterable[SelectedField]) -> CustomerListings:
    wanted = CustomerListings()
    for field in fields:
        arguments = dict(field.arguments or {})
        if field.name == "jobs" and (window := _window(arguments)):
            status = arguments.get("status")
            details = _asks_job_records(field)
            wanted.jobs.append((*window, None if status is None else str(status), details))
        elif field.name == "payments" and (window := _window(arguments)):
            wanted.payments.append(window)
        wanted.notes = wanted.notes or field.name == "notes"
        wanted.invoices = wanted.invoices or field.name == "invoices"
    return wanted


def _nodes(selections: list[Selection]) -> Iterator[SelectedField]:
    """The node selections of a connection: ``nodes``, or ``node`` under ``edges`` (none under a
    directive)."""
    for part in flattened(selections, directed=False):
        if part.name == "nodes":
            yield part
        elif part.name == "edges":
            yield from (e for e in flattened(part.selections, directed=False) if e.name == "node")


def _asks_job_records(jobs: SelectedField) -> bool:
    """Whether every node of this ``jobs`` connection surely resolves a field of
    ``Job.RECORD_FIELDS``: one selected under ``nodes`` or ``edges { node }`` with no directive on
    the way (a ``@skip`` or ``@include`` may leave it out, and then its records were read for
    nothing)."""
    if jobs.directives:
        return False
    return any(
        field.name in Job.RECORD_FIELDS
        for node in _nodes(jobs.selections)
        for field in flattened(node.selections, directed=False)
    )


def _first(field: SelectedField) -> int:
    try:
        return max(int((field.arguments or {}).get("first", 25)), 0)
    except (TypeError, ValueError):
        return 0  # the field itself will report the bad argument


def _tasks_under_connection(selections: list[Selection], jobs: bool) -> int:
    """Nodes of a connection (``nodes`` or ``edges { node }``) whose tasks are asked: how many
    times per node (a customer's: per job of its ``jobs``; a job's: 1)."""
    found = 0
    for field in flattened(selections):
        if field.name == "nodes":
            found += _tasks_under_node(field.selections, jobs)
        elif field.name == "edges":
            for edge in flattened(field.selections):
                if edge.name == "node":
                    found += _tasks_under_node(edge.selections, jobs)
    return found


def _tasks_under_node(selections: list[Selection], job: bool) -> int:
    found = 0
    for field in flattened(selections):
        if job and field.name == "tasks" and not field.arguments:
            found += 1  # Job.tasks (Employee.tasks takes a date window)
        elif not job and field.name == "jobs":
            found += _first(field) * _tasks_under_connection(field.selections, True)
    return found


def job_tasks_bound(info: Info[Any, Any], root: str) -> int:
    """At most how many jobs' tasks this root field asks: ``customers`` (``first`` customers x
    ``first`` jobs each), ``customer`` (its ``first`` jobs), ``jobs`` (``first`` jobs)."""
    document = info.query
    if document is not None and "tasks" not in document:
        return 0  # no field of the document is named tasks (and no Strawberry selection is built)
    bound = 0
    for field in flattened(list(info.selected_fields)):
        if root == "customers":
            bound += _first(field) * _tasks_under_connection(field.selections, False)
        elif root == "customer":
            bound += _tasks_under_node(field.selections, False)
        elif root == "jobs":
            bound += _first(field) * _tasks_under_connection(field.selections, True)
    return bound
