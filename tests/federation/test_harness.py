"""The federation harness, proven against a tiny Strawberry subgraph defined here.

Our real schema is written elsewhere; this stand-in has the shape it will have (entities Invoice and
Customer keyed by id, resolved in `_entities` via `resolve_reference`), so a broken harness shows up
here and not as a mysterious failure in the real schema's federation tests.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import strawberry
import strawberry.federation
from strawberry.asgi import GraphQL

from tests.federation import harness
from tests.federation.harness import (
    SECOND_SUBGRAPH_NAME,
    SECOND_SUBGRAPH_SDL,
    CompositionError,
    compose,
    post_graphql,
    require_federation_tools,
    running_gateway,
    running_second_subgraph,
    second_subgraph_collection_notes,
    second_subgraph_loyalty_tier,
    second_subgraph_risk_score,
    serving_asgi,
    subgraph_sdl,
)

pytestmark = pytest.mark.federation

CUSTOMERS = {"7": "Ada Plumbing", "8": "Grace Heating"}
INVOICES = {
    "101": (5001, "120.50", "7"),
    "102": (5002, "0.00", "8"),
    "103": (5003, "75.25", "7"),
}


@strawberry.federation.type(keys=["id"])
class Customer:
    id: strawberry.ID
    name: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Customer:
        return cls(id=id, name=CUSTOMERS[id])


@strawberry.federation.type(keys=["id"])
class Invoice:
    id: strawberry.ID
    number: int
    balance_remaining: str
    customer: Customer

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Invoice:
        number, balance, customer_id = INVOICES[id]
        customer = Customer.resolve_reference(strawberry.ID(customer_id))
        return cls(id=id, number=number, balance_remaining=balance, customer=customer)


@strawberry.type
class Query:
    @strawberry.field
    def invoice(self, id: strawberry.ID) -> Invoice | None:
        return Invoice.resolve_reference(id) if id in INVOICES else None


SCHEMA = strawberry.federation.Schema(query=Query, types=[Invoice, Customer])

# Starts at the second subgraph, needs ours for number/balance/customer (through `_entities` with
# Invoice representations), then the second again for loyaltyTier (Customer representations).
COLLECTION_QUEUE_QUERY = """
query CollectionQueue {
  collectionQueue {
    id
    riskScore
    collectionNotes
    number
    balanceRemaining
    customer { id name loyaltyTier }
  }
}
"""
# Starts at our root field, needs the second subgraph for riskScore.
INVOICE_QUERY = """
query Invoice($id: ID!) { invoice(id: $id) { number riskScore customer { loyaltyTier } } }
"""


class RecordingApp:
    """Wraps an ASGI app and keeps every JSON request body, to see what the gateway sent us."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[dict[str, Any]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body") and scope["method"] == "POST":
                    self.bodies.append(json.loads(b"".join(chunks)))
            return message

        await self.app(scope, recording_receive, send)

    def entity_representations(self) -> list[list[dict[str, Any]]]:
        """The representations of each `_entities` request received, one list per request."""
        return [
            body["variables"]["representations"]
            for body in self.bodies
            if "_entities" in body.get("query", "")
        ]


@dataclass
class Federation:
    gateway_url: str
    kickserv: RecordingApp


@pytest.fixture(scope="module")
def federation() -> Iterator[Federation]:
    # given: our stand-in subgraph, the second subgraph and a gateway over their composition
    require_federation_tools()
    recording = RecordingApp(GraphQL(SCHEMA))
    with (
        serving_asgi(recording) as kickserv_url,
        running_second_subgraph(["101", "102"], ["8"]) as second_url,
    ):
        supergraph = compose(
            [
                ("kickserv", kickserv_url, subgraph_sdl(kickserv_url)),
                (SECOND_SUBGRAPH_NAME, second_url, SECOND_SUBGRAPH_SDL),
            ]
        )
        recording.bodies.clear()  # forget the _service query
        with running_gateway(supergraph) as gateway_url:
            yield Federation(gateway_url=gateway_url, kickserv=recording)


def test_composes_strawberry_subgraph_with_the_second_subgraph() -> None:
    require_federation_tools()

    supergraph = compose(
        [
            ("kickserv", "http://127.0.0.1:1/graphql", str(SCHEMA)),
            (SECOND_SUBGRAPH_NAME, "http://127.0.0.1:2/", SECOND_SUBGRAPH_SDL),
        ]
    )

    assert '@join__graph(name: "kickserv", url: "http://127.0.0.1:1/graphql")' in supergraph
    assert '@join__graph(name: "collections", url: "http://127.0.0.1:2/")' in supergraph
    invoice = supergraph[supergraph.index("type Invoice") :].split("}", 1)[0]
    assert '@join__type(graph: KICKSERV, key: "id")' in invoice
    assert '@join__type(graph: COLLECTIONS, key: "id")' in invoice
    assert "riskScore: Int! @join__field(graph: COLLECTIONS)" in invoice
    assert "balanceRemaining: String! @join__field(graph: KICKSERV)" in invoice


def test_conflicting_field_fails_composition_with_the_composers_code() -> None:
    require_federation_tools()
    # given: a subgraph that also defines Invoice.riskScore, unshared and with another type
    conflicting = """
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])
    type Query { riskyInvoices: [Invoice!]! }
    type Invoice @key(fields: "id") { id: ID! riskScore: String! }
    """

    with pytest.raises(CompositionError) as caught:
        compose(
            [
                ("risk", "http://127.0.0.1:1/", conflicting),
                (SECOND_SUBGRAPH_NAME, "http://127.0.0.1:2/", SECOND_SUBGRAPH_SDL),
            ]
        )

    assert "INVALID_FIELD_SHARING" in caught.value.codes
    assert "Invoice.riskScore" in str(caught.value)


def test_unparsable_sdl_fails_composition_naming_the_subgraph() -> None:
    require_federation_tools()

    with pytest.raises(CompositionError) as caught:
        compose([("broken", "http://127.0.0.1:1/", "type Query { oops: }")])

    assert caught.value.codes == ["INVALID_GRAPHQL"]
    assert caught.value.issues[0].message.startswith("[broken] Syntax Error")


def test_gateway_query_from_second_subgraph_crosses_our_entities(federation: Federation) -> None:
    # when
    result = post_graphql(federation.gateway_url, COLLECTION_QUEUE_QUERY)

    # then: fields of both subgraphs, in the second subgraph's order
    assert result == {
        "data": {
            "collectionQueue": [
                {
                    "id": "101",
                    "riskScore": second_subgraph_risk_score("101"),
                    "collectionNotes": second_subgraph_collection_notes("101"),
                    "number": 5001,
                    "balanceRemaining": "120.50",
                    "customer": {
                        "id": "7",
                        "name": "Ada Plumbing",
                        "loyaltyTier": second_subgraph_loyalty_tier("7"),
                    },
                },
                {
                    "id": "102",
                    "riskScore": second_subgraph_risk_score("102"),
                    "collectionNotes": second_subgraph_collection_notes("102"),
                    "number": 5002,
                    "balanceRemaining": "0.00",
                    "customer": {
                        "id": "8",
                        "name": "Grace Heating",
                        "loyaltyTier": second_subgraph_loyalty_tier("8"),
                    },
                },
            ]
        }
    }
    # and: our part came from one `_entities` call carrying both invoices
    assert [
        {"__typename": "Invoice", "id": "101"},
        {"__typename": "Invoice", "id": "102"},
    ] in federation.kickserv.entity_representations()


def test_gateway_query_from_our_root_field_reaches_the_second_subgraph(
    federation: Federation,
) -> None:
    result = post_graphql(federation.gateway_url, INVOICE_QUERY, {"id": "103"})

    assert result == {
        "data": {
            "invoice": {
                "number": 5003,
                "riskScore": second_subgraph_risk_score("103"),
                "customer": {"loyaltyTier": second_subgraph_loyalty_tier("7")},
            }
        }
    }


def test_gateway_over_a_non_supergraph_fails_with_the_gateways_error() -> None:
    require_federation_tools()

    # A subgraph's SDL where the composed supergraph belongs: the commonest mistake.
    with (
        pytest.raises(RuntimeError, match=r'(?s)cannot start from .*Unknown directive "@link"'),
        running_gateway(str(SCHEMA)),
    ):
        pass


def test_second_subgraph_is_stopped_when_the_block_raises() -> None:
    require_federation_tools()
    urls: list[str] = []

    with pytest.raises(ZeroDivisionError), running_second_subgraph(["1"]) as url:
        urls.append(url)
        assert post_graphql(url, "{ collectionQueue { id } }") == {
            "data": {"collectionQueue": [{"id": "1"}]}
        }
        _ = 1 / 0

    with pytest.raises(httpx.ConnectError):
        httpx.post(urls[0], json={"query": "{ __typename }"})


def test_node_server_exits_when_its_parent_closes_stdin() -> None:
    # A parent killed by SIGKILL closes our pipe the same way, so no orphan survives it.
    require_federation_tools()
    process = subprocess.Popen(
        [
            str(harness.node_executable()),
            "second_subgraph.mjs",
            "--port",
            "0",
            "--exit-on-stdin-eof",
        ],
        cwd=harness.FEDERATION_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        assert any(line.startswith("READY ") for line in process.stdout)  # reads up to READY

        process.stdin.close()

        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def test_missing_node_tools_skip_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "node_available", lambda: False)
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception):
        require_federation_tools()


def test_missing_node_tools_fail_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "node_available", lambda: False)
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="npm ci"):
        require_federation_tools()
