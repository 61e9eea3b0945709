"""The garbage collector seldom runs inside a request and catches up in the pauses between them
(``graph.server.collector``): the idle collection waits for every request in flight, and a served
app's young generation is nearly empty again once it has been idle (which a request in flight
puts off: the unit cases)."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from graph.server.collector import IdleCollector
from tests.graph.test_first_request import fresh_interpreter


class Collections:
    def __init__(self) -> None:
        self.made: list[int] = []

    def __call__(self, generation: int) -> int:
        self.made.append(generation)
        return 0


def collector(made: Collections, *, minimum: int = 0) -> IdleCollector:
    idle = IdleCollector(after=0.01, minimum=minimum, collect=made)
    idle.enabled = True
    return idle


async def test_the_last_request_to_end_starts_the_idle_collection() -> None:
    made = Collections()
    idle = collector(made)
    idle.begin()
    idle.begin()
    idle.end()
    await asyncio.sleep(0.03)
    assert made.made == []  # one still in flight
    idle.end()
    await asyncio.sleep(0.03)
    assert made.made == [1] and idle.collections == 1  # young and middle generations


async def test_a_request_that_begins_within_the_pause_puts_it_off() -> None:
    made = Collections()
    idle = collector(made)
    idle.begin()
    idle.end()
    await asyncio.sleep(0.002)
    idle.begin()  # before the pause is over: no collection under it
    await asyncio.sleep(0.03)
    assert made.made == []
    idle.end()
    await asyncio.sleep(0.03)
    assert made.made == [1]


async def test_nothing_is_collected_when_disabled_or_when_little_is_young() -> None:
    made = Collections()
    idle = IdleCollector(after=0.001, minimum=0, collect=made)  # not enabled: a bare app
    idle.begin()
    idle.end()
    await asyncio.sleep(0.02)
    few = collector(made, minimum=10**9)  # more young objects than any process holds
    few.begin()
    few.end()
    await asyncio.sleep(0.03)
    assert made.made == [] and idle.in_flight == few.in_flight == 0


SERVED = textwrap.dedent(
    """
    import asyncio, gc, json
    import httpx
    from graph.server.collector import IDLE, IDLE_AFTER
    from graph.server.serve import create_app_from_env

    QUERY = "{ customers(first: 8) { nodes { name jobs(first: 3) { nodes { name } } } } }"

    async def main():
        app = create_app_from_env()
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            answer = await http.post("/graphql", json={"query": QUERY})
            after_request = gc.get_count()[0]
            await asyncio.sleep(IDLE_AFTER * 5)
            idle = gc.get_count()[0]
            made = IDLE.collections
        print(json.dumps({
            "ok": len(answer.json()["data"]["customers"]["nodes"]) == 8,
            "after_request": after_request, "idle": idle, "made": made,
            "threshold": gc.get_threshold()[0],
        }))

    asyncio.run(main())
    """
)


def test_a_served_app_collects_what_a_request_left_once_it_is_idle(tmp_path: Path) -> None:
    # given: serve's app (its factory installs the collector) on the embedded sandbox
    found = fresh_interpreter(SERVED, {"SANDBOX_CUSTOMERS": "12", "GRAPH_STATE_DIR": str(tmp_path)})
    # then: a request leaves young objects behind (it cached records), and a pause collects them
    assert found["ok"] and found["threshold"] == 50_000
    assert found["after_request"] > 2_000, found
    assert found["made"] >= 1 and found["idle"] < found["after_request"] // 4, found
