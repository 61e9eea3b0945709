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

    from graph.server import serve as server

    serve_parser = commands.add_parser(
        "serve", help="serve the GraphQL API and GraphiQL (the sandbox when no credentials are set)"
    )
    server.add_arguments(serve_parser)
    serve_parser.set_defaults(handler=server.run)

    persisted_parser = commands.add_parser(
        "persisted", help="trusted documents: build a persisted-query manifest"
    )
    persisted_commands = persisted_parser.add_subparsers(
        dest="persisted_command", required=True, metavar="SUBCOMMAND"
    )
    build_parser_ = persisted_commands.add_parser(
        "build",
        help="build an Apollo persisted-query manifest from .graphql operation files",
        description="Every named operation of the files becomes a manifest entry, checked "
        "against the schema; its body is the operation and the fragments it uses (from any of the "
        "files) as Apollo Client sends them (__typename added, printed by graphql-js), so its id "
        "is the one Apollo Client and Apollo's generate-persisted-query-manifest compute. Load "
        "the manifest with GRAPH_PERSISTED_MANIFESTS; clients send the id as `documentId` or as "
        "an APQ hash. Exit 2 with `file:line:column: message` lines when an operation is wrong.",
    )
    build_parser_.add_argument("files", nargs="+", help=".graphql files (or folders of them)")
    build_parser_.add_argument(
        "-o", "--output", default="-", help="where to write the manifest (default: stdout)"
    )
    build_parser_.set_defaults(handler=build_manifest_command)

    export_parser = commands.add_parser(
        "export-schema",
        help="write the SDL of the running schema (federation v2) to ./schema.graphql",
        description="The committed schema.graphql is this output; a test fails when they differ.",
    )
    export_parser.add_argument(
        "-o",
        "--output",
        default="schema.graphql",
        help="where to write the SDL (default: ./schema.graphql; '-' for stdout)",
    )
    export_parser.set_defaults(handler=export_schema_command)

    # bench/ lives in the repository, not in the installed package: it is imported only when the
    # command runs, and all its arguments go to it (main() hands them over before parsing).
    commands.add_parser(
        "bench",
        add_help=False,
        help="benchmark against a local sandbox with injected latency (from a checkout; see "
        "bench/README.md)",
    ).set_defaults(handler=lambda args: bench_command([]))
    return parser


def schema_sdl() -> str:
    """The SDL of the schema ``serve`` runs, as committed in schema.graphql."""
    from graph.schema.query import build_schema

    return build_schema().as_str().rstrip("\n") + "\n"


def export_schema_command(args: argparse.Namespace) -> int:
    """``kickserv-graph export-schema [-o FILE]``: 0 when written, 2 when the file cannot be."""
    from pathlib import Path

    text = schema_sdl()
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"kickserv-graph export-schema: {args.output}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"kickserv-graph export-schema: wrote {args.output}", file=sys.stderr)
    return 0


def build_manifest_command(args: argparse.Namespace) -> int:
    """``kickserv-graph persisted build``: 0 when written, 2 with a message when a file is wrong."""
    import json
    from pathlib import Path

    from graph.schema.query import build_schema, graphql_schema
    from graph.server.persisted import ManifestError, build_manifest

    sources: list[tuple[str, str]] = []
    for name in args.files:
        path = Path(name)
        files = sorted(path.glob("*.graphql")) if path.is_dir() else [path]
        for file in files:
            try:
                sources.append((str(file), file.read_text(encoding="utf-8")))
            except OSError as exc:
                print(f"kickserv-graph persisted build: {file}: {exc.strerror}", file=sys.stderr)
                return 2
    try:
        manifest = build_manifest(sources, graphql_schema(build_schema()))
    except ManifestError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(
            f"kickserv-graph persisted build: {count} problem(s); no manifest written.",
            file=sys.stderr,
        )
        return 2
    text = json.dumps(manifest, indent=2) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        count = len(manifest["operations"])
        print(f"Wrote {count} operation(s) to {args.output}", file=sys.stderr)
    return 0


BENCH_MISSING = (
    "kickserv-graph bench: the benchmark is not part of the installed package; it runs from a "
    "checkout of the repository: clone it, `pip install -e .` there, then run `python -m bench` "
    "(or `kickserv-graph bench`) from its root."
)


def bench_command(argv: Sequence[str]) -> int:
    """``kickserv-graph bench ...``: runs bench/ from a checkout, else 2 with one line saying so.

    bench/ is not installed with the package (the wheel ships what the server runs); at the root
    of a checkout it is importable from the working directory, as ``python -m bench`` finds it.
    """
    from pathlib import Path

    checkout = Path.cwd()
    if (checkout / "bench" / "cli.py").is_file() and str(checkout) not in sys.path:
        sys.path.insert(0, str(checkout))
    try:
        from bench import cli as bench_cli
    except ModuleNotFoundError as exc:
        if exc.name != "bench":
            raise
        print(BENCH_MISSING, file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(
        prog="kickserv-graph bench",
        description="Benchmark kickserv-graph against the sandbox (see bench/README.md): upstream "
        "calls against the minimum, cold and warm latency, throughput against stock Strawberry "
        "and the HTTP ceiling; writes bench/results/<date>.json and .md.",
    )
    bench_cli.add_arguments(parser)
    result: int = bench_cli.run(parser.parse_args(argv))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["bench"]:
        return bench_command(arguments[1:])
    args = build_parser().parse_args(arguments)
    result: int | None = args.handler(args)
    return result or 0


if __name__ == "__main__":
    sys.exit(main())
