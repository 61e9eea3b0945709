"""Parse and validate once per distinct query text: the LRU of documents the endpoint executes."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
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


@dataclass(frozen=True, slots=True)
class CachedDocument:
    """A parse (and validation) outcome: ``document`` is None when parsing failed."""

    document: DocumentNode | None
    errors: tuple[GraphQLError, ...]
    error_code: ErrorCode | None


class DocumentCache:
    """Parse + validate once per distinct query text; an LRU bounded by ``maxsize`` entries.

    Failures are cached too: a client resending a broken query costs a dictionary lookup.
    """

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        maxsize: int = 1024,
        max_tokens: int | None = None,
        validation_rules: Collection[type[ASTValidationRule]] = (),
    ) -> None:
        self._graphql_schema = schema
        self._maxsize = maxsize
        self._max_tokens = max_tokens
        self._rules = (*specified_rules, *validation_rules)
        self._entries: OrderedDict[str, CachedDocument] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str) -> CachedDocument:
        entry = self._entries.get(query)
        if entry is not None:
            self.hits += 1
            self._entries.move_to_end(query)
            return entry
        self.misses += 1
        entry = self._build(query)
        self._entries[query] = entry
        if len(self._entries) > self._maxsize:
            self._entries.popitem(last=False)
        return entry

    def _build(self, query: str) -> CachedDocument:
        try:
            document = parse(query, max_tokens=self._max_tokens)
        except GraphQLError as error:
            too_big = error.message.startswith(_TOO_BIG_PREFIXES)
            code = ErrorCode.QUERY_TOO_COMPLEX if too_big else ErrorCode.GRAPHQL_PARSE_FAILED
            return CachedDocument(None, (error,), code)
        except RecursionError:
            return _too_deep()
        try:
            errors = validate(self._graphql_schema, document, self._rules)
        except RecursionError:
            return _too_deep()
        if errors:
            return CachedDocument(document, tuple(errors), ErrorCode.GRAPHQL_VALIDATION_FAILED)
        return CachedDocument(document, (), None)


# graphql-core's own guards (max_tokens, nesting depth): a limit hit, not a typo.
_TOO_BIG_PREFIXES = (
    "Syntax Error: Document contains more than",
    "Syntax Error: Document is nested too deeply",
)


def _too_deep() -> CachedDocument:
    """Pathologically nested documents exhaust the recursive parser: a client error, not a crash."""
    error = GraphQLError("The document is nested too deeply.")
    return CachedDocument(None, (error,), ErrorCode.QUERY_TOO_COMPLEX)
