"""Large requests' memory goes back to the system (graph.server.allocator): in a fresh interpreter,
80 requests carrying ~950 KB documents, sent to the app, leave its RSS where it was once
``return_large_blocks`` ran; without it, glibc keeps tens of MB."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import asyncio, gc, sys
    import httpx
    from graph.server.allocator import return_large_blocks
    from graph.server.assembly import build_app
    from graph.server.settings import Settings

    def rss():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    return int(line.split()[1]) // 1024

    async def main():
        applied = return_large_blocks() if sys.argv[1] == "fixed" else False
        app = build_app(Settings())
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=transport, base_url="http://t"
        ) as http:
            await http.post("/graphql", json={"query": "{ __typename }"})
            gc.collect()
            before = rss()
            for i in range(80):
                query = "#" + "x" * 950_000 + f"\\nquery Q{i} {{ __typename }}"
                answer = await http.post("/graphql", json={"query": query})
                assert answer.status_code == 200
            gc.collect()
            print(applied, rss() - before)

    asyncio.run(main())
    """
)


def grown(mode: str) -> tuple[bool, int]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0] == "True", int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc, /proc")
def test_large_blocks_are_given_back_once_fixed() -> None:
    applied, growth = grown("fixed")
    assert applied
    assert growth < 20, f"RSS grew {growth} MB after the requests were done"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc, /proc")
def test_without_it_glibc_keeps_them() -> None:
    # What the fix is for (if a glibc stops doing this, the fix is no longer needed): without it the
    # same requests leave well more behind than with it. How much glibc keeps varies with the
    # machine's load (43-44 MB on a quiet machine, 21 MB once in CI on 2026-12-03), so the two are
    # compared in one run rather than against a fixed figure.
    applied, growth = grown("default")
    _, fixed = grown("fixed")
    assert not applied
    assert growth >= fixed + 10, f"without the fix RSS grew {growth} MB, with it {fixed} MB"
