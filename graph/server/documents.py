"""Parse and validate once per distinct query text: the LRU of documents the endpoint executes.

Two limits stop the parser itself: ``max_tokens`` lexical tokens (comments included) and
graphql-core's nesting depth (``MAX_NESTING``). Both refuse as every limit does
(graph.server.limits.limit_exceeded): ``QUERY_TOO_COMPLEX`` with rule ``tokens`` or ``nesting``, the
limit, and as the measure the count where parsing stopped (the limit + 1: counting further would
cost what the limit is there to spare).
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    parse,
    specified_rules,
    validate,
)

from graph.schema.errors import ErrorCode
from graph.server.limits import limit_exceeded
from graph.server.otel import Tracing
from resolvers.bounded import BytesLRU

try:  # graphql-core's own cap on nesting (brackets within brackets), where it has one
    from graphql.language.parser import MAX_NESTING_DEPTH as MAX_NESTING
except ImportError:  # pragma: no cover - older graphql-core: the recursion limit stops it
    MAX_NESTING = 200


@dataclass(frozen=True, slots=True)
class CachedDocument:
    """A parse (and validation) outcome: ``document`` is None when parsing failed."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    error_code: ErrorCode | None


# What a parsed and validated document keeps alive per character of its text, measured with
# tracemalloc on token-dense documents (115-310 bytes; a document of long strings is near 1).
BYTES_PER_CHARACTER = 150


def document_bytes(query: str) -> int:
    """The estimated memory of a cached document: its text (the key) and its syntax tree."""
    return len(query) * (1 + BYTES_PER_CHARACTER)


class DocumentCache:
    """Parse + validate once per distinct query text; an LRU bounded by ``maxsize`` entries and
    by ``max_bytes`` (estimated: ``document_bytes``), so large documents cannot fill memory.

    Failures are cached too: a client resending a broken query costs a dictionary lookup.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        maxsize: int = 1024,
        max_bytes: int = 64 * 1024 * 1024,
        max_tokens: int | None = None,
        validation_rules: Collection[type[ASTValidationRule]] = (),
        tracing: Tracing | None = None,
    ) -> None:
        self._graphql_schema = schema
        self._tracing = tracing
        self._max_tokens = max_tokens
        self._rules = (*specified_rules, *validation_rules)
        self._entries: BytesLRU[str, CachedDocument] = BytesLRU(max_bytes, maxsize)
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str) -> CachedDocument:
        entry = self._entries.get(query)
        if self._tracing is not None:  # a hit has no parse or validate span: say why
            self._tracing.mark("kickserv_graph.document_cache", "miss" if entry is None else "hit")
        if entry is not None:
            self.hits += 1
            return entry
        self.misses += 1
        entry = self._build(query)
        self._entries.put(query, entry, document_bytes(query))
        return entry

    @property
    def bytes(self) -> int:
        return self._entries.bytes

    def _phase(self, name: str) -> AbstractContextManager[object]:
        return nullcontext() if self._tracing is None else self._tracing.phase(name)

    def _build(self, query: str) -> CachedDocument:
        try:
            with self._phase("graphql.parse"):
                document = parse(query, max_tokens=self._max_tokens)
        except GraphQLError as error:
            if error.message.startswith(_TOO_MANY_TOKENS) and self._max_tokens is not None:
                return _refused(
                    "tokens",
                    self._max_tokens,
                    f"The document has more than {self._max_tokens} tokens (comments included); "
                    "parsing stopped there.",
                )
            if error.message.startswith(_TOO_DEEP):
                return _too_deep()
            return CachedDocument(None, (error,), ErrorCode.GRAPHQL_PARSE_FAILED)
        except RecursionError:
            return _too_deep()
        try:
            with self._phase("graphql.validate"):
                errors = validate(self._graphql_schema, document, self._rules)
        except RecursionError:
            return _too_deep()
        if errors:
            return CachedDocument(document, tuple(errors), ErrorCode.GRAPHQL_VALIDATION_FAILED)
        return CachedDocument(document, (), None)


# graphql-core's own guards (max_tokens, nesting depth): a limit hit, not a typo.
_TOO_MANY_TOKENS = "Syntax Error: Document contains more than"
_TOO_DEEP = "Syntax Error: Document is nested too deeply"


def _refused(rule: str, limit: int, message: str) -> CachedDocument:
    """A limit the parser hit: measured where it stopped, one past the limit."""
    refusal = limit_exceeded(rule, limit + 1, limit, message)
    error = GraphQLError(refusal.message, extensions=refusal.to_extensions())
    return CachedDocument(None, (error,), ErrorCode.QUERY_TOO_COMPLEX)


def _too_deep() -> CachedDocument:
    """Pathologically nested documents: graphql-core stops past ``MAX_NESTING`` levels (or the
    recursive parser or validator exhausts the stack): a client error, not a crash."""
    return _refused(
        "nesting",
        MAX_NESTING,
        f"The document is nested too deeply: more than {MAX_NESTING} levels (selections, lists "
        "and input objects within each other); parsing stopped there.",
    )
