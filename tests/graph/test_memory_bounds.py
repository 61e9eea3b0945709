"""Caches a client can grow are bounded in bytes, not only entries (issue 11: 600 requests with
~950 KB documents took a process from 58 to 1,212 MB through count-bounded caches)."""

from __future__ import annotations

import hashlib

from graphql import OperationDefinitionNode, parse

from graph.schema.query import build_schema, graphql_schema
from graph.server.documents import DocumentCache, document_bytes
from graph.server.limits import MeasuredCosts
from graph.server.persisted import PersistedQueries
from graph.server.response_cache import ResponseCache
from resolvers.bounded import BytesLRU

SCHEMA = graphql_schema(build_schema())


def test_the_lru_keeps_its_byte_budget_and_refuses_what_would_take_a_tenth():
    lru: BytesLRU[str, str] = BytesLRU(max_bytes=1000, max_entries=100)
    for i in range(50):
        assert lru.put(f"k{i}", "v", 90)
    assert lru.bytes <= 1000 and len(lru) == 11
    assert lru.get("k49") == "v" and lru.get("k0") is None  # the oldest went first
    assert not lru.put("big", "v", 101)  # over a tenth of the budget: not kept
    assert "big" not in lru and lru.bytes <= 1000


def test_large_documents_do_not_fill_the_document_cache():
    cache = DocumentCache(SCHEMA, maxsize=1024, max_bytes=2 * 1024 * 1024)
    for i in range(300):  # distinct ~20 KB documents, each parsed and validated
        query = "query { customers(first: 1) { totalCount } }" + f"# {i} " + "x" * 20_000
        assert cache.get(query).document is not None
    assert cache.bytes <= 2 * 1024 * 1024
    assert len(cache) == cache.bytes // document_bytes(query)


async def test_the_response_cache_holds_its_byte_budget():
    async def tenant_of(request):
        return ("acme:f", 1)

    cache = ResponseCache(
        tenant_of=tenant_of,
        valid_until=lambda context: 1e18,
        clock=lambda: 0.0,
        max_entries=10_000,
        max_bytes=1_000_000,
    )
    for i in range(200):
        key = await cache.key(None, "{ customers { totalCount } }", None, {"i": i})
        assert key is not None
        cache.put(key, b"x" * 50_000, 10.0)
    assert cache._entries.bytes <= 1_000_000 and len(cache) < 20


async def test_large_apq_documents_are_bounded_in_bytes():
    persisted = PersistedQueries(apq_max_entries=10_000, apq_max_bytes=1_000_000)
    for i in range(100):
        query = "{ employees { id } }" + f"# {i} " + "y" * 40_000
        digest = hashlib.sha256(query.encode()).hexdigest()
        ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
        await persisted.resolve(query, None, ext)
    assert persisted._apq.bytes <= 1_000_000 and persisted.apq_size < 20


def test_remembered_costs_are_bounded_by_the_documents_they_hold():
    # Each remembered cost holds its operation node, and the node its whole document: 600 requests
    # of ~950 KB documents kept ~1.1 GB through 1,024 entries bounded by count (fault run,
    # 2026-12-03). Long variables are remembered by digest.
    costs = MeasuredCosts(SCHEMA, maxsize=1024, max_bytes=2 * 1024 * 1024)
    for i in range(60):
        query = "#" + "x" * 1_000 + f"\nquery Q{i} {{ employees {{ id }} }}"
        document = parse(query)
        (operation,) = document.definitions
        assert isinstance(operation, OperationDefinitionNode)
        costs.measure(document, operation, {"big": "z" * 500_000, "i": i})
        assert costs.bytes <= 2 * 1024 * 1024
    assert 0 < len(costs) < 60
    large = parse("#" + "x" * 100_000 + "\n{ employees { id } }")  # over a tenth: never kept
    (operation,) = large.definitions
    assert isinstance(operation, OperationDefinitionNode)
    before = len(costs)
    costs.measure(large, operation, None)
    assert len(costs) == before and costs.bytes <= 2 * 1024 * 1024
