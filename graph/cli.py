"""The ``kickserv-graph`` command line: ``sandbox``, ``serve``, ``export-schema`` and friends."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kickserv-graph",
        description="A GraphQL federation subgraph over the Kickserv REST API v2.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from sandbox import cli as sandbox_cli

    sandbox_parser = commands.add_parser(
        "sandbox", help="serve the built-in Kickserv sandbox (a local imitation of the v2 API)"
    )
    sandbox_cli.add_arguments(sandbox_parser)
    sandbox_parser.set_defaults(handler=sandbox_cli.run)

    from graph import server

    serve_parser = commands.add_parser(
        "serve", help="serve the GraphQL API and GraphiQL (the sandbox when no credentials are set)"
    )
    server.add_arguments(serve_parser)
    serve_parser.set_defaults(handler=server.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int | None = args.handler(args)
    return result or 0


if __name__ == "__main__":
    sys.exit(main())
