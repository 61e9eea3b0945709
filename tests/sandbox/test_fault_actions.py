"""Fault actions beyond "error", over real HTTP: a dropped connection and a hang past the client's
timeout, before the handler (nothing written) and after it (the write committed)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sandbox.knobs import FaultRule, Knobs
from sandbox.testing import running_sandbox
from tests.sandbox.conftest import DEMO, small_config

CUSTOMERS = "/demo/api/v2/customers.json"


@pytest.fixture
def sandbox():
    with running_sandbox(small_config()) as running:
        yield running


def _api(sandbox, timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=sandbox.api_url("demo"), auth=DEMO, timeout=timeout)


# A dropped connection reaches the client as an unfinished answer or as a reset, as the timing of
# the close falls: both are the drop, and both mean the client saw no answer.
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)


def _named(sandbox, name: str) -> int:
    return sum(c.name == name for c in sandbox.store().customers.values())


async def _logged(sandbox, path: str) -> dict:
    """The log entry of the request to `path`, once the sandbox has finished it."""
    for _ in range(500):
        found = [r for r in sandbox.requests() if r["path"] == path]
        if found:
            return found[-1]
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never finished in the sandbox")


async def test_drop_after_commits_and_closes_the_connection_mid_answer(sandbox):
    # given
    sandbox.state.knobs.faults = [
        FaultRule(method="POST", path=CUSTOMERS, when="after", action="drop")
    ]
    # when
    async with _api(sandbox) as http:
        with pytest.raises(DROPPED):
            await http.post("/customers.json", json={"customer": {"name": "Dropped After"}})
        # then: the write is there, and the connection pool recovers
        assert _named(sandbox, "Dropped After") == 1
        assert (await http.get("/employees.json")).status_code == 200


async def test_drop_before_writes_nothing(sandbox):
    sandbox.state.knobs.faults = [FaultRule(method="POST", path=CUSTOMERS, action="drop", times=1)]
    async with _api(sandbox) as http:
        with pytest.raises(DROPPED):
            await http.post("/customers.json", json={"customer": {"name": "Dropped Before"}})
        assert _named(sandbox, "Dropped Before") == 0
        again = await http.post("/customers.json", json={"customer": {"name": "Dropped Before"}})
    assert again.status_code == 200 and _named(sandbox, "Dropped Before") == 1


async def test_timeout_after_commits_and_ends_when_the_client_gives_up(sandbox):
    rule = FaultRule(method="POST", path=CUSTOMERS, when="after", action="timeout", hang_s=60)
    sandbox.state.knobs.faults = [rule]
    async with _api(sandbox, timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post("/customers.json", json={"customer": {"name": "Slow After"}})
    assert _named(sandbox, "Slow After") == 1
    # The hang ended with the client's connection, not after hang_s (60 s): the log has it.
    assert (await _logged(sandbox, CUSTOMERS))["method"] == "POST"


async def test_timeout_before_writes_nothing_when_the_client_gives_up(sandbox):
    rule = FaultRule(method="POST", path=CUSTOMERS, action="timeout", hang_s=60)
    sandbox.state.knobs.faults = [rule]
    async with _api(sandbox, timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post("/customers.json", json={"customer": {"name": "Slow Before"}})
    await _logged(sandbox, CUSTOMERS)
    assert _named(sandbox, "Slow Before") == 0


async def test_timeout_shorter_than_the_client_is_only_a_slow_answer(sandbox):
    rule = FaultRule(method="POST", path=CUSTOMERS, action="timeout", hang_s=0.05)
    sandbox.state.knobs.faults = [rule]
    async with _api(sandbox, timeout=5) as http:
        answer = await http.post("/customers.json", json={"customer": {"name": "Patient"}})
    assert answer.status_code == 200 and answer.json()["name"] == "Patient"
    assert _named(sandbox, "Patient") == 1


def test_knobs_accept_the_new_actions_and_refuse_bad_hangs():
    knobs = Knobs()
    assert knobs.update({"faults": [{"action": "drop"}, {"action": "timeout", "hang_s": 2}]}) == {}
    assert [r.action for r in knobs.faults] == ["drop", "timeout"]
    for bad in ({"action": "explode"}, {"action": "timeout", "hang_s": -1}):
        assert "faults" in knobs.update({"faults": [bad]}), bad
