"""A customer's job records leave as soon as its jobs listing lands, not once its own record has
landed too (``resolvers.prefetch``): ``customer(number:) { jobs { nodes { lineItems } } }`` needs
the listing for the job numbers, never the customer's record. Over a real sandbox whose answer
with the customer's record comes late."""

from __future__ import annotations

from datetime import datetime

from sandbox.config import SandboxConfig
from sandbox.knobs import FaultRule
from sandbox.testing import running_sandbox
from tests.graph.example_runs import SANDBOX, TODAY, example, example_variables, graph_server

LATE_S = 0.6  # how late the customer's record is answered

HISTORY_BEHIND_A_DIRECTIVE = """query History($number: Int!, $items: Boolean!) {
  customer(number: $number) {
    name
    jobs(first: 100) { nodes { number lineItems @include(if: $items) { description } } }
  }
}"""


def started(entry: dict[str, object]) -> float:
    return datetime.fromisoformat(str(entry["time"])).timestamp()


def late_customer(number: int) -> SandboxConfig:
    path = f"/demo/api/v2/customers/{number}.json"
    late = FaultRule(method="GET", path=path, action="timeout", hang_s=LATE_S, times=1)
    return SandboxConfig(**SANDBOX, faults=[late])


def number_of_history() -> int:
    with running_sandbox(SandboxConfig(**SANDBOX)) as sandbox:
        number: int = example_variables(sandbox.store("demo"), TODAY)["customer_history"]["number"]
    return number


async def test_the_job_records_leave_before_the_customers_record_lands() -> None:
    number = number_of_history()
    with running_sandbox(late_customer(number)) as sandbox:
        async with graph_server(sandbox) as graph:
            run = await graph.run(example("customer_history"), {"number": number})
    assert run.errors == [] and run.data["customer"]["jobs"]["nodes"]
    paths = run.paths()
    customer = next(
        e for e, p in zip(run.log, paths, strict=True) if p == f"/customers/{number}.json"
    )
    jobs = [e for e, p in zip(run.log, paths, strict=True) if p.startswith("/jobs/")]
    assert len(jobs) == len(run.data["customer"]["jobs"]["nodes"])  # one record each, as before
    answered = started(customer) + float(str(customer["duration_ms"])) / 1000
    assert answered - started(customer) >= LATE_S * 0.9
    # every job record was asked for while the customer's record was still on its way
    assert all(started(job) < answered - LATE_S / 2 for job in jobs), paths


async def test_job_records_behind_a_directive_are_not_read_ahead() -> None:
    number = number_of_history()
    with running_sandbox(late_customer(number)) as sandbox:
        async with graph_server(sandbox) as graph:
            left_out = await graph.run(
                HISTORY_BEHIND_A_DIRECTIVE, {"number": number, "items": False}
            )
    # `@include(if: false)`: no node reads a job's record, and none is read ahead either
    assert left_out.errors == [] and left_out.data["customer"]["jobs"]["nodes"]
    assert not [p for p in left_out.paths() if p.startswith("/jobs/")], left_out.paths()
