"""Persisted queries: Automatic Persisted Queries (Apollo's protocol) and trusted-document manifests.

Three ways a request names its document:

- ``query``: free-form text (refused for ``persisted-only`` callers unless it is in a manifest);
- ``extensions.persistedQuery = {version: 1, sha256Hash}`` (APQ): with no ``query`` the hash is looked
  up (the APQ store, then the manifests); an unknown hash answers ``PersistedQueryNotFound`` with code
  ``PERSISTED_QUERY_NOT_FOUND`` so Apollo Client retries with the full text; with a ``query`` the text
  must hash to ``sha256Hash`` before it is stored;
- ``documentId`` (GraphQL-over-HTTP persisted documents, optionally ``sha256:``-prefixed): looked up in
  the trusted-document manifests only.

Manifests use Apollo's persisted-query manifest format::

    {"format": "apollo-persisted-query-manifest", "version": 1,
     "operations": [{"id": "<sha256 of body>", "name": "Dashboard", "type": "query", "body": "..."}]}

Status codes follow Apollo Router: unknown id 404, free-form text refused 400, text not in the safelist
403.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    Node,
    OperationDefinitionNode,
    Source,
    parse,
    validate,
    visit,
)
from graphql.language import Visitor

from graph.schema.errors import BadRequest, PersistedQueryNotAllowed, PersistedQueryNotFound
from graph.server.apollo import apollo_bodies, apollo_print
from graph.server.observe import current_key
from resolvers.bounded import BytesLRU
from resolvers.state import StateStore, StateUnavailable

logger = logging.getLogger("graph.server.persisted")

MANIFEST_FORMAT = "apollo-persisted-query-manifest"


class SafelistPolicy(StrEnum):
    """What a caller may send besides manifest operations."""

    OPEN = "open"  # anything (APQ registration included)
    AUDIT = "audit"  # anything, but documents outside the manifests are logged
    PERSISTED_ONLY = "persisted-only"  # manifest operations only


def _apq_bytes(query: str) -> int:
    return 2 * len(query) + 200  # the text (as UTF-8 or wider) and its 64-character digest key


_SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ManifestOperation:
    id: str
    name: str | None
    type: str
    body: str


@dataclass(frozen=True)
class Manifest:
    operations: Mapping[str, ManifestOperation]
    source: str = "<memory>"

    @classmethod
    def from_json(cls, data: Any, source: str = "<memory>") -> Manifest:
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ValueError(
                f"{source}: not an Apollo persisted-query manifest (format {MANIFEST_FORMAT!r})."
            )
        if data.get("version") != 1:
            raise ValueError(
                f"{source}: manifest version {data.get('version')!r} is not supported (1 is)."
            )
        operations: dict[str, ManifestOperation] = {}
        for position, entry in enumerate(data.get("operations") or []):
            try:
                op = ManifestOperation(
                    str(entry["id"]),
                    entry.get("name"),
                    str(entry.get("type", "query")),
                    str(entry["body"]),
                )
            except (KeyError, TypeError) as exc:
                raise ValueError(f"{source}: operation #{position} lacks an id or a body.") from exc
            if sha256_hex(op.body) != op.id:
                raise ValueError(
                    f"{source}: operation {op.name or position!r} has an id that is not the sha256 of its body."
                )
            operations[op.id] = op
        return cls(operations, source)

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        text = Path(path).read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}).") from exc
        return cls.from_json(data, str(path))


def _fragment_names(node: Any) -> set[str]:
    names: set[str] = set()

    class Collect(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
            names.add(spread.name.value)

    visit(node, Collect())
    return names


class ManifestError(ValueError):
    """The operation files are wrong; ``problems`` holds one ``file:line:column: message`` each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(dict.fromkeys(problems))
        super().__init__("\n".join(self.problems))


def _where(node: Node | None, fallback: str) -> str:
    if node is None or node.loc is None:
        return fallback
    location = node.loc.source.get_location(node.loc.start)
    return f"{node.loc.source.name}:{location.line}:{location.column}"


def _error_line(error: GraphQLError, fallback: str) -> str:
    node = next((n for n in error.nodes or () if n.loc is not None), None)
    if node is None and error.locations and error.source is not None:  # a syntax error
        line, column = error.locations[0].line, error.locations[0].column
        return f"{error.source.name}:{line}:{column}: {error.message}"
    return f"{_where(node, fallback)}: {error.message}"


def _needed_fragments(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[list[FragmentDefinitionNode], list[str]]:
    """The fragments an operation uses, transitively, and a problem per fragment not defined."""
    needed: dict[str, FragmentDefinitionNode] = {}
    problems: list[str] = []
    pending: list[Node] = [operation]
    while pending:
        node = pending.pop()
        for name in sorted(_fragment_names(node)):
            if name in needed:
                continue
            if name not in fragments:
                problems.append(f'{_where(operation, "?")}: Unknown fragment "{name}".')
                continue
            needed[name] = fragments[name]
            pending.append(fragments[name])
    return list(needed.values()), problems


def build_manifest(
    sources: Iterable[tuple[str, str]], schema: GraphQLSchema | None = None
) -> dict[str, Any]:
    """A manifest from (file name, GraphQL text) pairs, as Apollo's generator writes it.

    Every operation must be named and unique; fragments may be defined in any of the files (once).
    Each operation's body is itself and the fragments it uses, printed by ``apollo_print``, so its id
    is the one Apollo Client computes. With ``schema``, each operation must also be valid against it.
    Raises ``ManifestError`` listing every problem as ``file:line:column: message``.
    """
    problems: list[str] = []
    operations: list[tuple[str, OperationDefinitionNode]] = []
    fragments: dict[str, FragmentDefinitionNode] = {}
    for filename, text in sources:
        try:
            document = parse(Source(text, filename))
        except GraphQLSyntaxError as exc:
            problems.append(_error_line(exc, filename))
            continue
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                operations.append((filename, definition))
            elif isinstance(definition, FragmentDefinitionNode):
                name = definition.name.value
                if name in fragments:
                    problems.append(
                        f"{_where(definition, filename)}: fragment {name!r} is also defined at "
                        f"{_where(fragments[name], '?')}."
                    )
                fragments.setdefault(name, definition)
    entries: list[dict[str, str]] = []
    seen: dict[str, str] = {}
    for filename, operation in operations:
        if operation.name is None:
            where = _where(operation, filename)
            problems.append(f"{where}: every persisted operation needs a name.")
            continue
        name = operation.name.value
        if name in seen:
            problems.append(
                f"{_where(operation, filename)}: operation {name!r} is also defined in {seen[name]}."
            )
            continue
        seen[name] = filename
        needed, missing = _needed_fragments(operation, fragments)
        if schema is None:
            problems.extend(missing)
        else:  # validation places unknown fragments and fields at their line and column
            standalone = DocumentNode(definitions=(operation, *needed))
            problems.extend(_error_line(e, filename) for e in validate(schema, standalone))
        body = apollo_print([operation, *needed])
        entries.append(
            {"id": sha256_hex(body), "name": name, "type": operation.operation.value, "body": body}
        )
    if problems:
        raise ManifestError(problems)
    entries.sort(key=lambda op: op["name"])
    return {"format": MANIFEST_FORMAT, "version": 1, "operations": entries}


@dataclass(frozen=True, slots=True)
class ResolvedDocument:
    query: str
    source: str  # "query" | "apq" | "manifest"
    document_id: str | None = None
    # The same request resolves the same way whatever the server keeps at run time (the query
    # itself under the open policy, a manifest's operation), with nothing else to do (no APQ
    # registered, no audit line): graph.server.replays may answer its repeats.
    replayable: bool = False


@dataclass
class PersistedQueries:
    """Turns a request's query / persistedQuery / documentId into the text to execute."""

    manifests: Sequence[Manifest] = ()
    apq_enabled: bool = True
    apq_max_entries: int = 10_000
    apq_max_bytes: int = 16 * 1024 * 1024
    apq_max_query_bytes: int = 100_000
    # The state store every process shares (set while the app runs): APQ documents registered on
    # one replica are found on the others; this process's LRU is a front for it.
    shared: StateStore | None = None
    _apq: BytesLRU[str, str] = field(init=False, repr=False)
    _trusted: dict[str, ManifestOperation] = field(init=False, repr=False)
    _trusted_bodies: frozenset[str] = field(init=False, repr=False)
    # The ids Apollo Client computes for each manifest operation (its body as Apollo prints it, by
    # graphql-js 16 and 17: a manifest built before `persisted build` added __typename, or by another
    # tool, still serves Apollo Client by hash), and the ids of texts a caller proved to be a
    # manifest operation (same operation, other order or spacing) by sending them once.
    _apollo: dict[str, str] = field(init=False, repr=False)
    _aliases: BytesLRU[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._apq = BytesLRU(self.apq_max_bytes, self.apq_max_entries)
        self._trusted = {op_id: op for m in self.manifests for op_id, op in m.operations.items()}
        self._trusted_bodies = frozenset(op.body for op in self._trusted.values())
        self._apollo = {}
        for op in self._trusted.values():
            for body in apollo_bodies(op.body, max_tokens=None):
                self._apollo.setdefault(sha256_hex(body), body)
        self._aliases = BytesLRU(self.apq_max_bytes, self.apq_max_entries)

    def _trusted_text(self, digest: str) -> str | None:
        """The text of the manifest operation known by this id, if any."""
        op = self._trusted.get(digest)
        return op.body if op is not None else self._apollo.get(digest) or self._aliases.get(digest)

    @property
    def apq_size(self) -> int:
        return len(self._apq)

    async def resolve(
        self,
        query: str | None,
        document_id: str | None,
        extensions: Mapping[str, Any] | None,
        policy: SafelistPolicy = SafelistPolicy.OPEN,
    ) -> ResolvedDocument:
        persisted = (extensions or {}).get("persistedQuery")
        if document_id is not None:
            if query is not None:
                raise BadRequest("Send either documentId or query, not both.")
            doc_id = document_id.removeprefix("sha256:")
            text = self._trusted_text(doc_id)
            if text is None:
                raise PersistedQueryNotFound(f"No trusted document has the id {document_id!r}.")
            return self._manifest(text, doc_id)
        if persisted is not None:
            return await self._resolve_apq(query, persisted, policy)
        if query is None:
            raise BadRequest("The request has no query, documentId or persistedQuery extension.")
        return self._check_free_form(query, policy)

    async def _resolve_apq(
        self, query: str | None, persisted: Any, policy: SafelistPolicy
    ) -> ResolvedDocument:
        if not isinstance(persisted, Mapping) or not isinstance(persisted.get("sha256Hash"), str):
            raise BadRequest("extensions.persistedQuery needs a sha256Hash string.")
        if persisted.get("version", 1) != 1:
            raise BadRequest("Unsupported persisted query version; version 1 is supported.")
        digest = persisted["sha256Hash"].lower()
        if query is None:
            text = self._trusted_text(digest)
            if text is not None:
                return self._manifest(text, digest)
            if policy is not SafelistPolicy.PERSISTED_ONLY and self.apq_enabled:
                stored = self._apq.get(digest) or await self._shared_get(digest)
                if stored is not None:
                    return ResolvedDocument(stored, "apq", digest)
            raise PersistedQueryNotFound()
        if sha256_hex(query) != digest:
            raise BadRequest("provided sha does not match query")
        resolved = self._check_free_form(query, policy)
        if (
            self.apq_enabled
            and policy is not SafelistPolicy.PERSISTED_ONLY
            and len(query.encode()) <= self.apq_max_query_bytes
        ):
            self._apq.put(digest, query, _apq_bytes(query))
            await self._shared_put(digest, query)
        return ResolvedDocument(resolved.query, "apq", digest)

    async def _shared_get(self, digest: str) -> str | None:
        if self.shared is None or not _SHA256.fullmatch(digest):
            return None
        try:
            stored = await self.shared.apq_get(digest)
        except StateUnavailable:
            return None  # the client sends the text again (PERSISTED_QUERY_NOT_FOUND)
        if stored is not None and sha256_hex(stored) == digest:
            self._apq.put(digest, stored, _apq_bytes(stored))
            return stored
        return None

    async def _shared_put(self, digest: str, query: str) -> None:
        if self.shared is None:
            return
        try:
            await self.shared.apq_put(digest, query)
        except StateUnavailable as exc:  # this process keeps it; others will ask for the text
            logger.warning("APQ document not shared, the state store is unavailable: %s", exc)

    def _manifest(self, text: str, digest: str) -> ResolvedDocument:
        """A manifest operation found by its id (one sent in other spacing: by its alias)."""
        static = digest in self._trusted or digest in self._apollo
        return ResolvedDocument(text, "manifest", digest, replayable=static)

    def _check_free_form(self, query: str, policy: SafelistPolicy) -> ResolvedDocument:
        if policy is SafelistPolicy.OPEN:
            return ResolvedDocument(query, "query", replayable=True)
        digest = sha256_hex(query)
        if digest in self._trusted or digest in self._apollo or query in self._trusted_bodies:
            return ResolvedDocument(query, "manifest", digest, replayable=True)
        if (
            self._apollo
            and len(query.encode()) <= self.apq_max_query_bytes
            and any(sha256_hex(body) in self._apollo for body in apollo_bodies(query))
        ):  # a manifest operation, in another order or spacing: its id now names it here
            self._aliases.put(digest, query, _apq_bytes(query))
            return ResolvedDocument(query, "manifest", digest)
        if policy is SafelistPolicy.AUDIT:
            logger.warning(
                "audit: key %s sent document %s, which is not in any trusted-document manifest",
                current_key(),
                digest[:16],
            )
            return ResolvedDocument(query, "query")
        raise PersistedQueryNotAllowed(
            "This API key may only run operations from its trusted-document manifest; "
            "send a documentId (or the sha256 of a manifest operation) instead of a query.",
            extensions={"documentHash": digest},
        )
