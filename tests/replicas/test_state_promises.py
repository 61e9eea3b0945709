"""Issue 10's promises, kept across real processes sharing one state store.

Two replicas (A and B: ``kickserv-graph serve``) on one external sandbox (``kickserv-graph
sandbox``), their state in an SQLite directory or in a real ``redis-server`` (``cluster``, both
backends), and:

- exactly once under faults: 200 keyed mutations, the sandbox failing writes before and after they
  apply, each retried on the other replica, some across a crash (SIGKILL) of the replica that took
  the first attempt; then the sandbox's records are counted, one marker per mutation
  (``tests/replicas/writes.py``);
- read-your-writes: a write acknowledged by A, then every read path on B, which had read the old
  value (``tests/replicas/reads.py``);
- APQ: a hash registered on A is known to B (and to A after a restart);
- ``serve --workers 2`` on the embedded store: one key sent 8 times at once, APQ, fresh reads;
- Redis going away: writes refuse with ``STATE_UNAVAILABLE`` and write nothing, reads go on,
  ``/readyz`` says so, and writes work again once Redis is back, without a restart;
- a corrupt state file stops ``serve`` at start with one line.

Failures say what was counted (duplicates, lost writes, stale reads, ...) and how long it took;
the same lines are printed (``pytest -s``) when the tests pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.replicas.harness import (
    KICKSERV_GRAPH,
    Cluster,
    Replica,
    Sandbox,
    get_persisted,
    new_client,
    persisted,
    post,
    replica_env,
    running_cluster,
)
from tests.replicas.reads import ReadPath, Round, rounds_of
from tests.replicas.writes import (
    CREATE_CUSTOMER,
    RENAME,
    Driver,
    Mutation,
    Seeded,
    count_records,
    describe_failures,
    faults,
    hard_paths,
    plan,
    run_id,
    verdict,
)
from tests.state.conftest import RedisServer, free_port

T = TypeVar("T")

# -- exactly once under faults and crashes ----------------------------------------------------------


async def test_200_mutations_exactly_once_under_faults_and_crashes(cluster: Cluster) -> None:
    sandbox, a, b = cluster.sandbox, cluster["A"], cluster["B"]
    run = run_id()
    mutations = plan(Seeded.read(sandbox), run)
    once = [m for m in mutations if m.once]  # sent once: a failure they are answered must be true
    retried = [m for m in mutations if not m.once]
    crash, answered, restarted = retried[:30], retried[30:150], retried[150:]
    timings: dict[str, float] = {}
    crash_hit: list[int] = []  # first attempts on A that the crash cut off
    killed_at = [float("inf")]
    started = time.monotonic()
    sandbox.configure(faults=faults(hard_paths(mutations)))
    try:
        async with new_client() as client:
            driver = Driver(client, a, b)
            turns = asyncio.Semaphore(10)
            crash_turns = asyncio.Semaphore(10)  # their retries may wait out A's leases

            async def in_turn(work: Awaitable[T]) -> T:
                async with turns:
                    return await work

            # 1. A crashes (SIGKILL) with writes in flight; their clients retry on B, which must
            #    wait for or take over A's claims, not write again. A comes back meanwhile.
            async def crash_then_retry(m: Mutation) -> None:
                async with crash_turns:
                    sent = time.monotonic()
                    first = await driver.send(m, a)
                    if first.body is None and sent < killed_at[0]:
                        crash_hit.append(m.index)
                    if verdict(first) == "refused":
                        m.outcome = "refused"
                        return
                    await driver.until_done(m, [b, a])

            crashing = [asyncio.ensure_future(crash_then_retry(m)) for m in crash]
            await asyncio.sleep(0.6)
            killed_at[0] = time.monotonic()
            a.kill()
            timings["A back after crash"] = await asyncio.to_thread(a.restart)

            # 2. Faults before and after commit; every mutation's first attempt on A (every fifth
            #    raced by a copy on B), then retried on B whatever A answered. Beside them, writes
            #    sent once by a client that takes a failure for an answer.
            phase = time.monotonic()
            await asyncio.gather(
                *(in_turn(driver.first_then_elsewhere(m, race=m.index % 5 == 0)) for m in answered),
                *(in_turn(driver.once(m, (a, b)[m.index % 2])) for m in once),
            )
            timings["faults phase"] = time.monotonic() - phase

            # 3. First attempts all answered by A, then A crashes and restarts; retries go to the
            #    restarted A first, then to B.
            phase = time.monotonic()
            firsts = await asyncio.gather(*(in_turn(driver.send(m, a)) for m in restarted))
            a.kill()
            timings["A back after restart"] = await asyncio.to_thread(a.restart)
            for m, first in zip(restarted, firsts, strict=True):
                if verdict(first) == "refused":
                    m.outcome = "refused"
            await asyncio.gather(
                *(
                    in_turn(driver.until_done(m, [a, b]))
                    for m in restarted
                    if m.outcome == "pending"
                )
            )
            timings["restart phase"] = time.monotonic() - phase
            await asyncio.gather(*crashing)
    finally:
        counted_faults = sandbox.config()["faults"]
        sandbox.configure(faults=[])
    timings["total"] = time.monotonic() - started

    counted = count_records(sandbox, mutations, counted_faults)
    outcomes = Counter(m.outcome for m in mutations)
    retried_outcomes = Counter(m.outcome for m in retried)
    attempts = Counter(len(m.answers) for m in mutations)
    slowest = max((ans.seconds for m in mutations for ans in m.answers), default=0.0)
    summary = (
        f"\n[{cluster.backend}] 200 mutations in {timings['total']:.1f} s "
        f"({', '.join(f'{k} {v:.1f} s' for k, v in timings.items() if k != 'total')}); "
        f"outcomes {dict(outcomes)} ({sum(m.outcome != 'ok' for m in once)} of the {len(once)} "
        f"sent once failed); attempts per mutation {dict(sorted(attempts.items()))}; "
        f"slowest answer {slowest:.1f} s; in flight on A when it crashed: {len(crash_hit)}; "
        f"faults fired {counted.faults} ({sum(counted.faults.values())})\n"
        f"duplicates {counted.duplicates} ({sum(counted.duplicates.values())}); "
        f"lost {len(counted.lost)}; applied but reported failed {len(counted.applied_but_failed)}; "
        f"failed and not applied {len(counted.not_applied)}; acknowledged with another record "
        f"{len(counted.wrong_record)}; jobs without both line items {len(counted.orphans)}; "
        f"replays differing from the first answer {len(counted.replays_differ)}"
    )
    print(summary)
    problems = sorted(
        {
            *counted.lost,
            *counted.applied_but_failed,
            *counted.wrong_record,
            *counted.orphans,
            *counted.replays_differ,
            *(m.index for m in mutations if m.outcome != "ok" and not m.once),
        }
    )
    assert counted.clean() and retried_outcomes == {"ok": 180}, (
        summary + "\nfor example:\n" + describe_failures(mutations, problems)
    )
    assert sum(counted.faults.values()) >= 40, summary  # the faults really happened
    assert crash_hit, summary  # and the crash really caught writes in flight
    assert any(m.outcome != "ok" for m in once), summary  # and some failures were answered


async def test_read_your_writes_across_replicas(cluster: Cluster) -> None:
    sandbox, a, b = cluster.sandbox, cluster["A"], cluster["B"]
    run = run_id()
    rounds = rounds_of(Seeded.read(sandbox), run)
    stale: Counter[str] = Counter()
    unseen_before: Counter[str] = Counter()  # showed the write before it was made: not a test
    failed: list[str] = []
    examples: dict[str, str] = {}  # one per kind of write and path
    reads = 0
    started = time.monotonic()
    async with new_client() as client:
        turns = asyncio.Semaphore(4)

        async def look(path: ReadPath, replica: Replica) -> tuple[bool, Any]:
            answer = await post(client, replica, path.query, path.variables)
            if not answer.ok:
                failed.append(f"{path.name} on {replica.name}: {answer.describe()}")
                return False, None
            return True, path.look(answer.data)

        async def one(i: int, r: Round) -> None:
            nonlocal reads
            before: dict[str, Any] = {}
            async with turns:
                for _ in range(2):  # B reads (and caches) every path before the write
                    for path in r.paths:
                        ok, before[path.name] = await look(path, b)
                        if ok and r.shown(path, before[path.name], None):
                            unseen_before[path.name] += 1
                await look(r.paths[0], a)
                write = await post(client, a, r.write, {**r.variables, "key": f"ryw-{run}-{i}"})
                if not write.ok:
                    failed.append(f"{r.kind} on A: {write.describe()}")
                    return
                for path in r.paths:  # right after the acknowledgement, on the other replica
                    ok, value = await look(path, b)
                    reads += 1
                    if ok and not r.shown(path, value, before[path.name]):
                        what = f"{r.kind}: {path.name}"
                        stale[what] += 1
                        examples.setdefault(
                            what,
                            f"{what} after {r.variables} read {value!r} (before: "
                            f"{before[path.name]!r})",
                        )

        await asyncio.gather(*(one(i, r) for i, r in enumerate(rounds)))
    seconds = time.monotonic() - started
    summary = (
        f"\n[{cluster.backend}] {len(rounds)} writes on A, {reads} reads right after on B in {seconds:.1f} s: "
        f"{sum(stale.values())} stale {dict(stale)}; failed requests {len(failed)}"
    )
    print(summary)
    assert not failed, summary + "\n" + "\n".join(failed[:5])
    assert not unseen_before, f"paths showed the write before it was made: {dict(unseen_before)}"
    assert not stale, summary + "\nfor example:\n" + "\n".join(examples.values())


async def test_a_replayed_read_shows_a_write_made_on_the_other_replica(cluster: Cluster) -> None:
    # B answers exact repeats of a response cache hit without deciding again (graph.server.replays)
    # but reads the tenant's write generation for each, or the store's change mark that says it
    # has not moved: a write acknowledged by A is seen at once.
    sandbox, a, b = cluster.sandbox, cluster["A"], cluster["B"]
    run = run_id()
    n = Seeded.read(sandbox).customers[5]["customer_number"]
    read = f"query Replayed_{run}($n: Int) {{ customer(number: $n) {{ number name }} }}"
    seen: list[str] = []
    async with new_client() as client:
        replays = await replayed(client, b)
        for i in range(3):
            # a hit, a replay (its generation checked), then one the lane answers where the store
            # has a change mark (graph.server.replays); first a miss, a hit and two replays
            for _ in range(4):
                before = await post(client, b, read, {"n": n})
            renamed = await post(
                client, a, RENAME, {"n": n, "name": f"Replayed {run} {i}", "key": f"rp-{run}-{i}"}
            )
            after = await post(client, b, read, {"n": n})
            assert renamed.ok and before.ok, renamed.describe() + before.describe()
            seen.append(after.data["customer"]["name"] if after.ok else after.describe())
        replays = await replayed(client, b) - replays
    summary = f"\n[{cluster.backend}] {replays} replays on B; read after each write on A: {seen}"
    print(summary)
    assert seen == [f"Replayed {run} {i}" for i in range(3)], summary
    assert replays == 8, summary  # 2 + 3 + 3: the read after a write was a miss, never a replay


async def replayed(client: httpx.AsyncClient, replica: Replica) -> float:
    """The replica's count of replayed response cache hits (its /metrics)."""
    metrics = (await client.get(f"{replica.url}/metrics")).text
    name = "kickserv_graph_response_cache_replays_total "
    return sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(name))


# -- APQ ----------------------------------------------------------------------------------------------


async def test_apq_registered_on_one_replica_is_found_on_the_other(cluster: Cluster) -> None:
    a, b = cluster["A"], cluster["B"]
    run = run_id()
    queries = [
        f"query Apq_{run}_{i} {{ customer(number: {i + 1}) {{ number name }} }}" for i in range(5)
    ]
    misses: list[str] = []
    async with new_client() as client:
        for query in queries:
            unknown = await post(client, b, None, extensions=persisted(query))
            assert unknown.codes == {"PERSISTED_QUERY_NOT_FOUND"}, unknown.describe()
            registered = await post(client, a, query, extensions=persisted(query))
            assert registered.ok, registered.describe()
            for answer in (
                await post(client, b, None, extensions=persisted(query)),
                await get_persisted(client, b, persisted(query)["persistedQuery"]["sha256Hash"]),
            ):
                if not answer.ok or answer.data != registered.data:
                    misses.append(answer.describe())
        back_in = await asyncio.to_thread(a.restart)
        for query in queries:
            answer = await post(client, a, None, extensions=persisted(query))
            if not answer.ok:
                misses.append(f"after A's restart: {answer.describe()}")
    assert not misses, (
        f"[{cluster.backend}] {len(misses)} of 15 hash-only requests missed "
        f"(A restarted in {back_in:.1f} s):\n" + "\n".join(misses[:5])
    )


# -- serve --workers 2 ------------------------------------------------------------------------------


async def test_two_workers_on_the_embedded_store_keep_every_promise(tmp_path: Path) -> None:
    run = run_id()
    with running_cluster(tmp_path, "sqlite", names=("W",), workers=2) as cluster:
        sandbox, w = cluster.sandbox, cluster["W"]
        customer = Seeded.read(sandbox).customers[2]
        n = customer["customer_number"]
        # A new connection per request, so the kernel hands them to both workers.
        async with new_client(keep_alive=False) as client:
            # One key sent 8 times at once: one customer.
            same = await asyncio.gather(
                *(
                    post(client, w, CREATE_CUSTOMER, {"name": f"W {run} once", "key": f"w-{run}"})
                    for _ in range(8)
                )
            )
            # Ten keys, each sent twice at once: ten customers.
            twice = await asyncio.gather(
                *(
                    post(
                        client,
                        w,
                        CREATE_CUSTOMER,
                        {"name": f"W {run} ten {i}", "key": f"w-{run}-{i}"},
                    )
                    for i in range(10)
                    for _ in range(2)
                )
            )
            # An APQ hash registered once is found on every try.
            query = f"query W_{run} {{ customer(number: {n}) {{ number name }} }}"
            registered = await post(client, w, query, extensions=persisted(query))
            tries = await asyncio.gather(
                *(post(client, w, None, extensions=persisted(query)) for _ in range(12))
            )
            apq_missed = sum(not t.ok for t in tries)
            # After a write, 12 reads at once: none stale.
            read = "query($n: Int) { customer(number: $n) { name } }"
            warm = await asyncio.gather(*(post(client, w, read, {"n": n}) for _ in range(12)))
            renamed = await post(
                client, w, RENAME, {"n": n, "name": f"W {run} renamed", "key": f"wr-{run}"}
            )
            after = await asyncio.gather(*(post(client, w, read, {"n": n}) for _ in range(12)))
        names = Counter(c["name"] for c in sandbox.list_all("customers.json", "customers"))
    stale = sum(not x.ok or x.data["customer"]["name"] != f"W {run} renamed" for x in after)
    once = names[f"W {run} once"]
    ten = sum(names[f"W {run} ten {i}"] for i in range(10))
    numbers = {json.dumps(x.data) for x in same if x.ok}
    summary = (
        f"\nserve --workers 2: one key sent 8 times made {once} customer(s) "
        f"({sum(x.ok for x in same)} answers ok, {len(numbers)} distinct); ten keys sent twice made "
        f"{ten}; APQ hash missed on {apq_missed} of 12 tries; {stale} of 12 reads stale after a "
        f"write"
    )
    print(summary)
    assert all(x.ok for x in warm) and renamed.ok and registered.ok, summary + renamed.describe()
    assert all(x.ok for x in same + twice), (
        summary + "\n" + "\n".join(x.describe() for x in same + twice if not x.ok)
    )
    assert (once, len(numbers), ten, apq_missed, stale) == (1, 1, 10, 0, 0), summary


# -- Redis going away -------------------------------------------------------------------------------


async def test_redis_going_away_refuses_writes_keeps_reads_and_recovers(
    tmp_path: Path, private_redis: RedisServer
) -> None:
    run = run_id()
    with running_cluster(tmp_path, "redis", redis=private_redis, names=("R",)) as cluster:
        sandbox, r = cluster.sandbox, cluster["R"]
        pid = r.process.pid if r.process else None
        read = "query($n: Int) { customer(number: $n) { number name } }"
        create = {"name": f"R {run} while down", "key": f"down-{run}"}
        async with new_client() as client:
            ready = await client.get(r.url + "/readyz")
            assert ready.status_code == 200, ready.text
            warmed = await post(client, r, read, {"n": 2})
            assert warmed.ok, warmed.describe()

            private_redis.stop()
            sandbox.reset_requests()
            started = time.monotonic()
            refused = await post(client, r, CREATE_CUSTOMER, create)
            refused_in = time.monotonic() - started
            writes_sent = [q for q in sandbox.requests() if q["method"] != "GET"]
            cached = await post(client, r, read, {"n": 2})
            uncached = await post(client, r, read, {"n": 7})
            down = await client.get(r.url + "/readyz")

            private_redis.start()  # the same port, empty
            started = time.monotonic()
            again = await post(client, r, CREATE_CUSTOMER, create)
            while not again.ok and time.monotonic() - started < 15:
                await asyncio.sleep(0.2)
                again = await post(client, r, CREATE_CUSTOMER, create)
            recovered_in = time.monotonic() - started
            back = await client.get(r.url + "/readyz")
        made = Counter(c["name"] for c in sandbox.list_all("customers.json", "customers"))
        same_process = r.process is not None and r.process.pid == pid and r.running
    summary = (
        f"\nRedis down: the write answered {refused.describe()} in {refused_in:.2f} s, "
        f"{len(writes_sent)} writes reached the sandbox; reads: cached {cached.describe()}, "
        f"uncached {uncached.describe()}; /readyz {down.status_code} {down.text}\n"
        f"Redis back: the write answered {again.describe()} after {recovered_in:.1f} s; "
        f"/readyz {back.status_code} {back.text}; customers made {made[create['name']]}"
    )
    print(summary)
    assert refused.codes == {"STATE_UNAVAILABLE"} and refused_in < 5, summary
    assert writes_sent == [], summary
    assert cached.ok and uncached.ok, summary
    assert down.status_code == 503 and down.json()["status"] == "unavailable", summary
    assert again.ok and same_process, summary
    assert made[create["name"]] == 1, summary
    assert back.status_code == 200, summary


# -- a corrupt state file -----------------------------------------------------------------------------


def test_corrupt_state_file_stops_serve_at_start_with_one_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.db").write_bytes(b"this is no database, " * 200)
    nowhere = Sandbox.create(tmp_path)  # never started: the store is checked before any call
    env = replica_env(nowhere, state_dir=state, redis_url=None)
    port = free_port()
    process = subprocess.Popen(
        [KICKSERV_GRAPH, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    started = time.monotonic()
    served = False
    while process.poll() is None and time.monotonic() - started < 30 and not served:
        served = _answers(f"http://127.0.0.1:{port}/healthz")
        time.sleep(0.1)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    stdout, stderr = process.communicate()
    seconds = time.monotonic() - started
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    summary = (
        f"\nserve with a corrupt {state / 'state.db'}: exit {process.returncode} after "
        f"{seconds:.1f} s{' (it was serving)' if served else ''}; stderr {len(lines)} line(s):\n"
        + "\n".join(lines[-8:])
        + f"\nstdout: {stdout.decode(errors='replace')[-300:]}"
    )
    print(summary)
    assert not served and process.returncode not in (0, None, -9), summary
    assert len(lines) == 1, summary
    assert "state.db" in lines[0] and "Traceback" not in lines[0], summary


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
