"""Federation v2 with our real app over real HTTP: keys in the SDL, `_entities` through loaders,
federated tracing decoded by Apollo's own protobuf module, and Apollo's composer and gateway
running a query that crosses our subgraph and a second one."""

from __future__ import annotations

import json
import random
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from graph.server.assembly import build_app
from graph.server.settings import Settings
from resolvers.data import RequestData
from sandbox.app import SandboxConfig
from sandbox.testing import RunningSandbox, running_sandbox
from tests.federation import harness
from tests.federation.harness import (
    SECOND_SUBGRAPH_NAME,
    SECOND_SUBGRAPH_SDL,
    compose,
    post_graphql,
    require_federation_tools,
    running_gateway,
    running_second_subgraph,
    second_subgraph_loyalty_tier,
    second_subgraph_risk_score,
    subgraph_sdl,
)
from tests.graph.conftest import uvicorn_in_thread

ENTITIES = """
query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Invoice { id number total balanceRemaining }
    ... on Customer { id number name }
    ... on Job { id number title: name }
  }
}
"""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    # 150 customers give the demo account more than 100 invoices.
    with running_sandbox(SandboxConfig(customers=150, seed=3)) as sb:
        yield sb


def settings_for(sb: RunningSandbox, **overrides: Any) -> Settings:
    return Settings(
        kickserv_account="demo",
        kickserv_api_token="demo-token",
        kickserv_base_url=sb.base_url,
        **overrides,
    )


@contextmanager
def serving(settings: Settings, app_wrapper: Any = None) -> Iterator[str]:
    app = build_app(settings)
    with uvicorn_in_thread(app_wrapper(app) if app_wrapper else app) as base_url:
        yield f"{base_url}/graphql"


def post(url: str, query: str, variables: dict[str, Any] | None = None, **headers: str) -> Any:
    response = httpx.post(
        url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def invoice_ids(sb: RunningSandbox) -> list[str]:
    return [str(job.id) for job in sb.store("demo").jobs.values() if job.invoice_status]


def representations(ids: list[str], typename: str = "Invoice") -> list[dict[str, Any]]:
    return [{"__typename": typename, "id": i} for i in ids]


# --- the SDL ---------------------------------------------------------------------------------


def test_service_sdl_declares_federation_v2_and_the_keys(sandbox: RunningSandbox) -> None:
    with serving(settings_for(sandbox)) as url:
        sdl = subgraph_sdl(url)

    assert '@link(url: "https://specs.apollo.dev/federation/v2' in sdl
    for entity in ("Customer", "Job", "Opportunity", "Invoice", "Employee"):
        assert f'type {entity} @key(fields: "id") @key(fields: "number")' in sdl
    for entity in ("Task", "Payment", "JobType", "Item", "Vendor"):
        assert f'type {entity} @key(fields: "id")' in sdl


# --- _entities -----------------------------------------------------------------------------


def test_hundred_invoices_cost_what_one_costs_and_come_back_in_order(
    sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: more than 100 invoices, shuffled, and two fresh servers (cold caches)
    ids = invoice_ids(sandbox)
    assert len(ids) >= 100
    hundred = random.Random(7).sample(ids, 100)
    batches: list[int] = []
    batch_invoices = RequestData._invoices_by_id

    async def recording_batch(self: RequestData, keys: list[int]) -> Any:
        batches.append(len(keys))
        return await batch_invoices(self, keys)

    monkeypatch.setattr(RequestData, "_invoices_by_id", recording_batch)

    # The warm repeat must execute (loader batch, index): no response cache on these servers.
    cold = settings_for(sandbox, response_cache_enabled=False)
    with serving(cold) as one_url, serving(cold) as many_url:
        sandbox.reset_requests()
        one = post(one_url, ENTITIES, {"representations": representations(hundred[:1])})
        cost_of_one = sandbox.request_count()

        sandbox.reset_requests()
        many = post(many_url, ENTITIES, {"representations": representations(hundred)})
        cost_of_hundred_cold = sandbox.request_count()

        sandbox.reset_requests()
        again = post(many_url, ENTITIES, {"representations": representations(hundred)})
        cost_of_hundred_warm = sandbox.request_count()

    # then: one loader batch per request, whatever the number of representations
    assert batches == [1, 100, 100]
    # and: one index build (its pages), not a call per invoice; nothing once warm
    assert "errors" not in many and "errors" not in one
    assert cost_of_hundred_cold == cost_of_one
    assert cost_of_hundred_cold < 10
    assert cost_of_hundred_warm == 0
    # and: in the order given, each the invoice asked for
    assert [e["id"] for e in many["data"]["_entities"]] == hundred
    assert {e["__typename"] for e in many["data"]["_entities"]} == {"Invoice"}
    store = sandbox.store("demo")
    for entity in many["data"]["_entities"]:
        assert entity["number"] == store.jobs[int(entity["id"])].number
    assert again["data"] == many["data"]


def test_unknown_and_malformed_representations_fail_alone(sandbox: RunningSandbox) -> None:
    ids = invoice_ids(sandbox)[:3]
    reps: list[Any] = [
        {"__typename": "Invoice", "id": ids[0]},
        {"__typename": "Invoice", "id": "999999999"},  # no such invoice
        {"__typename": "Invoice", "id": ids[1]},
        {"__typename": "Nope", "id": "1"},  # not an entity
        {"__typename": "Invoice", "id": "abc"},  # not a Kickserv id
        {"__typename": "Invoice", "color": "red"},  # not a key of Invoice
        {"__typename": "Invoice", "id": ids[2]},
    ]

    with serving(settings_for(sandbox)) as url:
        result = post(url, ENTITIES, {"representations": reps})

    entities = result["data"]["_entities"]
    assert [e and e["id"] for e in entities] == [ids[0], None, ids[1], None, None, None, ids[2]]
    errors = {tuple(e["path"]): e["extensions"]["code"] for e in result["errors"]}
    assert errors == {
        ("_entities", 1): "NOT_FOUND",
        ("_entities", 3): "BAD_USER_INPUT",
        ("_entities", 4): "BAD_USER_INPUT",
        ("_entities", 5): "BAD_USER_INPUT",
    }


def test_customers_and_jobs_by_either_key(sandbox: RunningSandbox) -> None:
    store = sandbox.store("demo")
    customer = store.customers_by_number[3]
    job = next(iter(store.jobs_by_number.values()))
    reps = [
        {"__typename": "Customer", "number": 3},
        {"__typename": "Customer", "id": str(customer.id)},
        {"__typename": "Job", "number": job.number},
        {"__typename": "Job", "id": str(job.id)},
    ]

    with serving(settings_for(sandbox)) as url:
        result = post(url, ENTITIES, {"representations": reps})

    assert "errors" not in result
    assert result["data"]["_entities"] == [
        {"__typename": "Customer", "id": str(customer.id), "number": 3, "name": customer.name},
        {"__typename": "Customer", "id": str(customer.id), "number": 3, "name": customer.name},
        {"__typename": "Job", "id": str(job.id), "number": job.number, "title": job.name},
        {"__typename": "Job", "id": str(job.id), "number": job.number, "title": job.name},
    ]


# --- federated tracing ---------------------------------------------------------------------

DECODE_TRACE = """
const { Trace } = require('@apollo/usage-reporting-protobuf');
let input = '';
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const trace = Trace.decode(Buffer.from(input.trim(), 'base64'));
  console.log(JSON.stringify(Trace.toObject(trace, { longs: Number })));
});
"""


def decode_trace(encoded: str) -> dict[str, Any]:
    """Decode with Apollo's own generated protobuf code, as Apollo Router's tooling does."""
    completed = subprocess.run(
        [str(harness.node_executable()), "-e", DECODE_TRACE],
        input=encoded,
        capture_output=True,
        text=True,
        cwd=harness.FEDERATION_DIR,
        timeout=30,
        check=True,
    )
    trace: dict[str, Any] = json.loads(completed.stdout)
    return trace


def child(node: dict[str, Any], name: str | int) -> dict[str, Any]:
    key = "index" if isinstance(name, int) else "responseName"
    return next(c for c in node.get("child", ()) if c.get(key) == name)


TRACED = """
{
  invoices(first: 2) { nodes { id number } }
  missing: customer(number: 999999) { id }
}
"""


def test_ftv1_trace_is_a_valid_apollo_trace_with_fields_timings_and_errors(
    sandbox: RunningSandbox,
) -> None:
    require_federation_tools()
    with serving(settings_for(sandbox)) as url:
        traced = post(url, TRACED, **{"apollo-federation-include-trace": "ftv1"})
        untraced = post(url, TRACED)

    assert "ftv1" not in untraced.get("extensions", {})
    trace = decode_trace(traced["extensions"]["ftv1"])

    assert trace["durationNs"] > 0
    start, end = trace["startTime"], trace["endTime"]
    assert (end["seconds"], end.get("nanos", 0)) >= (start["seconds"], start.get("nanos", 0))
    root = trace["root"]
    invoices = child(root, "invoices")
    assert invoices["parentType"] == "Query"
    assert invoices["type"].startswith("InvoiceConnection")
    assert 0 <= invoices.get("startTime", 0) <= invoices["endTime"] <= trace["durationNs"]
    first_item = child(child(invoices, "nodes"), 0)
    assert child(first_item, "number")["type"] == "Int!"
    assert child(first_item, "id")["parentType"] == "Invoice"
    missing = child(root, "missing")
    assert missing["originalFieldName"] == "customer"
    (error,) = missing["error"]
    assert error["message"] == traced["errors"][0]["message"]
    assert json.loads(error["json"])["extensions"]["code"] == "NOT_FOUND"
    assert error["location"] == [{"line": 4, "column": 3}]


# --- a real composer and gateway -----------------------------------------------------------


class EntitiesRecorder:
    """Keeps the representations of every `_entities` request our subgraph receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.batches: list[list[dict[str, Any]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording_receive() -> Any:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                body = json.loads(b"".join(chunks) or b"{}")
                representations = (body.get("variables") or {}).get("representations")
                if "_entities" in body.get("query", "") and representations is not None:
                    self.batches.append(representations)
            return message

        await self.app(scope, recording_receive, send)


COLLECTION_QUEUE = """
query CollectionQueue {
  collectionQueue { id riskScore number balanceRemaining customer { id name loyaltyTier } }
}
"""


def test_gateway_crosses_our_entities_with_real_ids(sandbox: RunningSandbox) -> None:
    require_federation_tools()
    ids = invoice_ids(sandbox)[:12]
    recorders: list[EntitiesRecorder] = []

    def record(app: Any) -> EntitiesRecorder:
        recorders.append(EntitiesRecorder(app))
        return recorders[-1]

    with (
        serving(settings_for(sandbox), app_wrapper=record) as ours,
        running_second_subgraph(ids, []) as second,
    ):
        supergraph = compose(
            [
                ("kickserv", ours, subgraph_sdl(ours)),
                (SECOND_SUBGRAPH_NAME, second, SECOND_SUBGRAPH_SDL),
            ]
        )
        expected = {
            node["id"]: node
            for node in post(
                ours,
                "query($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice "
                "{ id number balanceRemaining customer { id name } } } }",
                {"r": representations(ids)},
            )["data"]["_entities"]
        }
        recorders[0].batches.clear()
        with running_gateway(supergraph) as gateway:
            result = post_graphql(gateway, COLLECTION_QUEUE)
            ours_first = post_graphql(
                gateway,
                "query($id: ID!) { invoice(id: $id) { number riskScore customer { loyaltyTier } } }",
                {"id": ids[0]},
            )

    assert "errors" not in result, result
    queue = result["data"]["collectionQueue"]
    assert [item["id"] for item in queue] == ids
    for item in queue:
        mine = expected[item["id"]]
        assert item["riskScore"] == second_subgraph_risk_score(item["id"])
        assert (item["number"], item["balanceRemaining"]) == (
            mine["number"],
            mine["balanceRemaining"],
        )
        assert item["customer"]["id"] == mine["customer"]["id"]
        assert item["customer"]["name"] == mine["customer"]["name"]
        assert item["customer"]["loyaltyTier"] == second_subgraph_loyalty_tier(
            item["customer"]["id"]
        )
    # the gateway asked us for all twelve invoices in one `_entities` request
    assert representations(ids) in recorders[0].batches
    assert ours_first == {
        "data": {
            "invoice": {
                "number": expected[ids[0]]["number"],
                "riskScore": second_subgraph_risk_score(ids[0]),
                "customer": {
                    "loyaltyTier": second_subgraph_loyalty_tier(expected[ids[0]]["customer"]["id"])
                },
            }
        }
    }
