"""What only the Redis store does: survive Redis going away (``StateUnavailable``, then recovery by
itself), auth and TLS from the URL, keys under a prefix, per tenant, each with a time-to-live."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from resolvers.cache import CacheKey
from resolvers.state import StateStoreOpenError, StateUnavailable
from resolvers.state.redis_store import RedisStateStore
from tests.state.conftest import RedisServer, free_port

Closing = Callable[[RedisStateStore], RedisStateStore]

KEY = CacheKey("acct-1:cred-a", "idempotency", "k")


def prefix() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


async def test_redis_killed_gives_state_unavailable_and_the_same_store_recovers(
    private_redis: RedisServer, closing: Closing
) -> None:
    store = closing(RedisStateStore(private_redis.url, prefix=prefix()))
    # Several pooled connections, all of which die with the server.
    await asyncio.gather(*(store.add(CacheKey("t", "r", n), {"n": n}, 60) for n in range(5)))
    assert await store.add(KEY, {"v": 1}, 60)
    assert await store.swap(KEY, {"v": 1}, {"v": 2}, 60)
    await store.bump_generation("acct-1")

    private_redis.stop()  # SIGKILL
    operations: dict[str, Callable[[], Awaitable[object]]] = {
        "get": lambda: store.get(KEY),
        "add": lambda: store.add(KEY, {"v": 3}, 60),
        "swap": lambda: store.swap(KEY, {"v": 2}, {"v": 3}, 60),
        "delete_resources": lambda: store.delete_resources("t", frozenset({"r"})),
        "generation": lambda: store.generation("acct-1"),
        "bump_generation": lambda: store.bump_generation("acct-1"),
        "apq_put": lambda: store.apq_put("c" * 64, "{ x }"),
        "apq_get": lambda: store.apq_get("c" * 64),
        "rate_swap": lambda: store.rate_swap("cred", None, {"r": 1}, 60),
        "ping": lambda: store.ping(),
    }
    for name, operation in operations.items():
        started = time.monotonic()
        with pytest.raises(StateUnavailable, match=f"127.0.0.1:{private_redis.port}") as caught:
            await operation()
        assert time.monotonic() - started < 2.5, name
        assert "is unavailable" in str(caught.value)

    private_redis.start()  # same port, empty (no persistence), scripts forgotten
    await store.ping()
    assert await store.get(KEY) is None
    assert await store.add(KEY, {"v": 1}, 60)
    assert await store.swap(KEY, {"v": 1}, {"v": 2}, 60)  # the script is loaded again by itself
    assert await store.bump_generation("acct-1") == 1
    assert await store.apq_put("c" * 64, "{ x }")
    assert await store.apq_get("c" * 64) == "{ x }"
    results = await asyncio.gather(*(store.get(CacheKey("t", "r", n)) for n in range(8)))
    assert results == [None] * 8
    await store.aclose()


async def test_redis_frozen_gives_state_unavailable_after_the_timeout(
    private_redis: RedisServer, closing: Closing
) -> None:
    store = closing(RedisStateStore(private_redis.url, prefix=prefix(), timeout=0.3))
    assert await store.add(KEY, {"v": 1}, 60)
    assert private_redis.process is not None
    os.kill(private_redis.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(StateUnavailable, match="Timeout"):
            await store.swap(KEY, {"v": 1}, {"v": 2}, 60)
        assert time.monotonic() - started < 1.5
    finally:
        os.kill(private_redis.process.pid, signal.SIGCONT)
    # The swap was sent before the freeze ended: it may have been applied. Nothing retried it.
    entry = await store.get(KEY)
    assert entry is not None and entry.value in ({"v": 1}, {"v": 2})
    await store.aclose()


async def test_nothing_listening_is_state_unavailable_not_an_error_at_creation(
    closing: Closing,
) -> None:
    store = closing(
        RedisStateStore(f"redis://:topsecret@127.0.0.1:{free_port()}/0", prefix=prefix())
    )
    assert "topsecret" not in store.description and "***" in store.description
    with pytest.raises(StateUnavailable) as caught:
        await store.ping()
    assert "topsecret" not in str(caught.value)
    with pytest.raises(StateUnavailable):
        await store.add(KEY, {}, 60)
    await store.aclose()


async def test_user_and_password_from_the_url(
    redis_binary: str, tmp_path: Path, closing: Closing
) -> None:
    server = RedisServer(
        redis_binary,
        tmp_path,
        args=(
            "--requirepass",
            "def-pass",
            "--user",
            "alice",
            "on",
            ">wonder land",
            "~*",
            "&*",
            "+@all",
        ),
    )
    server.start()
    try:
        base = f"127.0.0.1:{server.port}/0"
        for url in (f"redis://alice:wonder%20land@{base}", f"redis://:def-pass@{base}"):
            store = closing(RedisStateStore(url, prefix=prefix()))
            assert await store.add(KEY, {"v": 1}, 60)
            assert await store.swap(KEY, {"v": 1}, {"v": 2}, 60)
            await store.aclose()
        for url in (f"redis://alice:wrong-pass@{base}", f"redis://{base}"):
            store = closing(RedisStateStore(url, prefix=prefix()))
            with pytest.raises(StateUnavailable) as caught:
                await store.add(KEY, {"v": 1}, 60)
            assert "wrong-pass" not in str(caught.value)
            assert "wrong-pass" not in repr(store)
            await store.aclose()
    finally:
        server.stop()


def make_certificates(directory: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a test certificate authority")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=directory, check=True, capture_output=True)

    run(
        "req",
        "-x509",
        *key,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=test CA",
    )
    run("req", *key, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    run(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext",
    )  # fmt: skip


async def test_tls_with_a_private_certificate_authority(
    redis_binary: str, tmp_path: Path, closing: Closing
) -> None:
    make_certificates(tmp_path)
    server = RedisServer(
        redis_binary,
        tmp_path,
        tls=True,
        args=(
            "--tls-cert-file", str(tmp_path / "server.pem"),
            "--tls-key-file", str(tmp_path / "server.key"),
            "--tls-ca-cert-file", str(tmp_path / "ca.pem"),
            "--tls-auth-clients", "no",
            "--requirepass", "tls-pass",
        ),
    )  # fmt: skip
    server.start()
    try:
        base = f"127.0.0.1:{server.port}/0"
        store = closing(
            RedisStateStore(
                f"rediss://:tls-pass@{base}?ssl_ca_certs={tmp_path / 'ca.pem'}", prefix=prefix()
            )
        )
        assert await store.add(KEY, {"v": 1}, 60)
        assert await store.bump_generation("acct-1") == 1
        await store.aclose()
        # The server's certificate is not trusted without the CA; plain text is not TLS.
        for url in (f"rediss://:tls-pass@{base}", f"redis://:tls-pass@{base}"):
            store = closing(RedisStateStore(url, prefix=prefix(), timeout=1.0))
            with pytest.raises(StateUnavailable):
                await store.ping()
            await store.aclose()
    finally:
        server.stop()


async def test_every_key_is_under_the_prefix_per_tenant_with_a_ttl(
    redis_server: RedisServer, closing: Closing
) -> None:
    mine = prefix()
    store = closing(RedisStateStore(redis_server.url, prefix=mine, apq_max_bytes=500))
    await store.add(CacheKey("acct:1", "idempotency", "k"), {"v": 1}, 60)
    await store.swap(CacheKey("acct:1", "idempotency", "k"), {"v": 1}, {"v": 2}, 60)
    await store.add(CacheKey("acct:2", "customers", 7), {"v": 1}, 60)
    await store.bump_generation("acct:1")
    await store.rate_swap("cred", None, {"r": 1}, 60)
    for n in range(5):
        await store.apq_put(f"{n:064x}", "q" * 200)
    raw = Redis.from_url(redis_server.url)
    try:
        names = sorted([bytes(k).decode() async for k in raw.scan_iter(match="*")])
        mine_only = [n for n in names if n.startswith(f"{mine}:")]
        assert f"{mine}:t:acct%3A1:r:idempotency:sk" in mine_only
        assert f"{mine}:t:acct%3A2:r:customers:j7" in mine_only
        assert f"{mine}:t:acct%3A1:gen" in mine_only
        assert f"{mine}:rate:cred" in mine_only
        assert sum(1 for n in mine_only if n.startswith(f"{mine}:apq:e:")) == 2
        for name in mine_only:
            assert 0 < await raw.pttl(name) <= store.generation_ttl * 1000, name
        assert await raw.get(f"{mine}:apq:bytes") == b"400"
    finally:
        await raw.aclose()
    await store.aclose()


def test_a_malformed_url_fails_at_creation_without_showing_the_password() -> None:
    with pytest.raises(StateStoreOpenError, match="not a Redis URL") as caught:
        RedisStateStore("redis://:hunter2@127.0.0.1:sixty/0")
    assert "hunter2" not in str(caught.value)
