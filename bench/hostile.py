"""A hostile corpus for the fault runs (``bench.faults``): what an API key can send to grow the
server's memory or break its parsing, sent over real HTTP to measure RSS afterwards.

- large documents, each text distinct (the issue measured 600 requests carrying ~950 KB documents
  taking a process from 58 to 1,212 MB through caches bounded by count);
- large APQ registrations (distinct hashes) and large variables;
- distinct queries over every listing (each one a document, a response and cached pages);
- malformed bodies: truncated JSON, wrong types, NaN, deep nesting, null bytes, batches;
- hostile numbers: Unicode digits, 5,000-digit numbers, ``1e99999999``, as variables and literals.

Nothing here checks answers (``tests/graph/test_hostile_input.py`` does, case by case, over the
whole schema); this corpus is sized to cost memory, and counts the statuses it got back.
"""

# ruff: noqa: RUF001 - the digits of other scripts are the point of this corpus

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import orjson

JSON = {"content-type": "application/json"}
HUGE = "9" * 5000
UNICODE_DIGITS = ("²", "١٢", "𝟙", "１２", "Ⅻ")
LISTINGS = (
    "customers(first: {n}) {{ nodes {{ id number name email phone }} }}",
    "jobs(first: {n}) {{ nodes {{ id number name status }} }}",
    "invoices(first: {n}) {{ nodes {{ id number total balanceRemaining }} }}",
    "employees {{ id number name }}",
)


@dataclass(frozen=True)
class Hostile:
    kind: str
    body: bytes
    headers: dict[str, str]


def _post(kind: str, payload: object) -> Hostile:
    return Hostile(kind, orjson.dumps(payload), JSON)


def _raw(kind: str, body: bytes) -> Hostile:
    return Hostile(kind, body, JSON)


def large_documents(count: int, size: int, start: int = 0) -> Iterator[Hostile]:
    """Distinct valid documents of about ``size`` bytes (a comment makes each one its own)."""
    for i in range(start, start + count):
        pad = "#" + "x" * size + "\n"
        yield _post("large document", {"query": f"{pad}query Q{i} {{ __typename }}"})


def large_apq(count: int, size: int, start: int = 0) -> Iterator[Hostile]:
    for i in range(start, start + count):
        query = f"query A{i} {{ __typename }}\n#" + "y" * size
        digest = hashlib.sha256(query.encode()).hexdigest()
        ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
        yield _post("large apq", {"query": query, "extensions": ext})


def large_variables(count: int, size: int, start: int = 0) -> Iterator[Hostile]:
    for i in range(start, start + count):
        variables = {"after": "z" * size, "i": i}
        query = "query($after: String) { customers(first: 1, after: $after) { totalCount } }"
        yield _post("large variables", {"query": query, "variables": variables})


def distinct_listings(count: int, draw: random.Random) -> Iterator[Hostile]:
    for i in range(count):
        field = LISTINGS[i % len(LISTINGS)].format(n=draw.randint(1, 100))
        yield _post("distinct listing", {"query": f"query L{i} {{ {field} }}"})


def malformed(draw: random.Random) -> Iterator[Hostile]:
    bodies = [
        b'{"query": "{ __typename }"',
        b'{"query": 12}',
        b'{"query": ["a"]}',
        b'{"query": "{ __typename }", "variables": "nope"}',
        b'{"query": NaN}',
        b'{"query": "{ __typename }", "variables": {"x": Infinity}}',
        b"[" * 5000 + b"]" * 5000,
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b'{"query": "{ __type\x00name }"}',
        b"\xff\xfe\x00garbage",
        orjson.dumps([{"query": "{ __typename }"}] * 50),
        b"",
    ]
    for body in bodies:
        yield _raw("malformed body", body)
    for digits in (*UNICODE_DIGITS, HUGE, "1e99999999", "NaN", "-0"):
        yield _post(
            "hostile number",
            {
                "query": "query($n: Int!) { customer(number: $n) { id } }",
                "variables": {"n": digits},
            },
        )
        yield _post("hostile number", {"query": f"{{ customer(number: {digits}) {{ id }} }}"})
        yield _post(
            "hostile number",
            {
                "query": "query($a: String) { customers(first: 5, after: $a) { totalCount } }",
                "variables": {"a": digits},
            },
        )
        yield _post("hostile number", {"query": f'{{ invoice(id: "{digits}") {{ id }} }}'})
    for depth in (50, 500):
        nested = "{ __typename " * depth + "}" * depth
        yield _post("deep document", {"query": nested})
    aliases = " ".join(f"a{i}: __typename" for i in range(draw.randint(5000, 6000)))
    yield _post("many aliases", {"query": "{ " + aliases + " }"})


def corpus(
    *, documents: int = 600, document_bytes: int = 950_000, seed: int = 1
) -> list[Callable[[], Hostile]]:
    """The whole corpus, shuffled, each case made when called (the large ones are not all held at
    once): ``documents`` large documents of ``document_bytes``, and a tenth as many of each other
    large kind (APQ, variables), plus distinct listings and the malformed cases."""
    draw = random.Random(seed)
    share = max(1, documents // 10)
    large: list[Callable[[], Hostile]] = [
        *(_one(large_documents, i, document_bytes) for i in range(documents)),
        *(_one(large_apq, i, document_bytes) for i in range(share)),
        *(_one(large_variables, i, document_bytes) for i in range(share)),
    ]
    small = [*distinct_listings(documents, draw), *malformed(draw)]
    cases = [*large, *(_made(case) for case in small)]
    draw.shuffle(cases)
    return cases


def _one(
    kind: Callable[[int, int, int], Iterator[Hostile]], i: int, size: int
) -> Callable[[], Hostile]:
    return lambda: next(kind(1, size, i))


def _made(case: Hostile) -> Callable[[], Hostile]:
    return lambda: case
