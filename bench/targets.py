"""``python -m bench.targets {stock,stock-cached,lean,ceiling} --port N``: the reference servers, on our HTTP stack.

They run under uvicorn with uvloop and httptools and ``serve``'s own protocol (its request head
bounded in bytes and time: graph.server.protocol), exactly as ``kickserv-graph serve`` does, so the
differences measured are the application's, not the server's.

- ``stock``: stock Strawberry (bench.stock) calling the sandbox at ``--upstream``;
  ``stock-cached`` the same with Kickserv's answers kept after their first read.
- ``lean``: a lean graphql-core handler (bench.lean) over the same data, answers kept likewise.
- ``ceiling``: answers every request with the same constant JSON bytes (``--body-file``), after
  reading the request body: the most any ASGI app can do on this stack (the HTTP ceiling).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import uvicorn

from graph.server.protocol import GuardedHttpToolsProtocol


def constant_json_app(body: bytes) -> Any:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.targets")
    parser.add_argument("kind", choices=("stock", "stock-cached", "lean", "ceiling"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", help="sandbox base URL (stock, stock-cached, lean)")
    parser.add_argument("--body-file", help="the constant answer (ceiling)")
    args = parser.parse_args(argv)
    app: Any
    if args.kind in ("stock", "stock-cached"):
        from bench.stock import create_app

        app = create_app(args.upstream, cached=args.kind == "stock-cached")
    elif args.kind == "lean":
        from bench import lean

        app = lean.create_app(args.upstream)
    else:
        app = constant_json_app(Path(args.body_file).read_bytes())
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http=GuardedHttpToolsProtocol,  # as serve runs ours
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
