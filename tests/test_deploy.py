"""deploy/: two replicas sharing one Redis, an nginx balancer and Apollo Router, in Docker Compose.

What runs everywhere: the files are read (PyYAML, which uvicorn[standard] installs) and checked for
what the stack promises: the services, one build for both replicas and one Redis URL with the
password Redis requires, healthchecks on /readyz, images pinned to releases, a balancer that spreads
over both replicas without re-sending a POST, a router that forwards `Idempotency-Key` and our error
codes, and the supergraph file composed from schema.graphql. With the npm tools of
tests/federation, the supergraph is composed again and compared, and Apollo's gateway runs it
against a real server (Apollo Router itself needs Docker here).

Where a Docker engine runs (`docker info` succeeds, with the Compose plugin), the stack is brought
up on the sandbox profile: a query goes through the router, and one keyed mutation is sent to each
replica and through the router, creating one customer. Elsewhere that test is skipped, saying so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
REPLICAS = ("graph-1", "graph-2")
PASSWORD_VARIABLE = re.compile(r"\$\{REDIS_PASSWORD(?::\?[^}]*)?\}")
RELEASE_TAG = re.compile(r"^v?\d+\.\d+\.\d+(?:-[a-z0-9.]+)?$")


def compose_file() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose_file()["services"]
    return found


def router_config() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "router.yaml").read_text(encoding="utf-8"))
    return data


def nginx_config() -> str:
    text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    return re.sub(r"#.*", "", text)  # directives only


def healthcheck_command(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


def seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m)", str(text))
    assert match, text
    value, unit = int(match[1]), match[2]
    return value / 1000 if unit == "ms" else value * 60 if unit == "m" else float(value)


# --- the file, everywhere ------------------------------------------------------------------


def test_the_stack_is_redis_two_replicas_a_balancer_and_the_router():
    found = services()
    assert set(found) == {"redis", *REPLICAS, "balancer", "router", "sandbox"}
    assert found["sandbox"]["profiles"] == ["sandbox"]  # only with --profile sandbox
    assert all("profiles" not in found[name] for name in found if name != "sandbox")
    # one port reaches the stack: the router's, on the loopback interface
    published = {name: s["ports"] for name, s in found.items() if "ports" in s}
    assert list(published) == ["router"]
    (port,) = published["router"]
    assert port.startswith("127.0.0.1:") and port.endswith(":4000")


def test_both_replicas_are_one_build_of_the_repositorys_dockerfile():
    found = services()
    first, second = (found[name] for name in REPLICAS)
    assert first == second
    build = first["build"]
    assert (DEPLOY / build["context"]).resolve() == ROOT
    assert (ROOT / build["dockerfile"]).is_file()
    assert "image" not in first  # built here, never pulled under a name
    # KICKSERV_* come from a file that is not committed; its example is
    assert first["env_file"] == ["${KICKSERV_ENV_FILE:-kickserv.env}"]
    assert first["environment"]["GRAPH_HOST"] == "0.0.0.0"


def test_both_replicas_share_one_redis_url_with_the_password_redis_requires():
    found = services()
    urls = {found[name]["environment"]["GRAPH_REDIS_URL"] for name in REPLICAS}
    assert len(urls) == 1
    (url,) = urls
    match = re.fullmatch(r"redis://default:(\$\{[^}]*\})@redis:6379/0", url)
    assert match and PASSWORD_VARIABLE.fullmatch(match[1]), url
    redis = found["redis"]
    command = redis["command"]
    assert command[0] == "redis-server"
    assert PASSWORD_VARIABLE.fullmatch(command[command.index("--requirepass") + 1])
    for name in REPLICAS:
        assert found[name]["depends_on"]["redis"] == {"condition": "service_healthy"}
    # what the promises depend on is kept (AOF) and never evicted
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert PASSWORD_VARIABLE.fullmatch(redis["environment"]["REDISCLI_AUTH"])
    assert "redis-cli ping" in healthcheck_command(redis)
    assert redis["volumes"] == ["redis-data:/data"] and "redis-data" in compose_file()["volumes"]


def test_replicas_and_balancer_are_healthy_only_when_readyz_says_so():
    found = services()
    for name in (*REPLICAS, "balancer"):
        command = healthcheck_command(found[name])
        assert "http://127.0.0.1:8000/readyz" in command, name
    # the replicas' probe fails on a 503: urlopen raises for it
    assert "urllib.request.urlopen(" in healthcheck_command(found["graph-1"])
    # the router's own: its health_check endpoint, where router.yaml puts it
    health = router_config()["health_check"]
    assert health["enabled"] is True
    assert f"/dev/tcp/{health['listen'].replace(':', '/')}" in healthcheck_command(found["router"])


def test_every_pulled_image_is_pinned_to_a_release():
    pulled = {name: s["image"] for name, s in services().items() if "image" in s}
    assert set(pulled) == {"redis", "balancer", "router"}
    for name, image in pulled.items():
        assert "@" not in image or image.split("@")[1].startswith("sha256:"), image
        repository, _, tag = image.partition("@")[0].rpartition(":")
        assert repository and RELEASE_TAG.match(tag), f"{name}: {image} is not a release tag"
    assert pulled["router"].startswith("ghcr.io/apollographql/router:v2.")
    assert pulled["redis"].startswith("redis:")
    assert pulled["balancer"].startswith("nginx:")
    built = {name for name, s in services().items() if "build" in s}
    assert built == {*REPLICAS, "sandbox"}


def test_the_balancer_spreads_over_both_replicas_and_never_resends_a_post():
    conf = nginx_config()
    upstream = re.search(r"upstream (\w+) \{(.*?)\}", conf, re.DOTALL)
    assert upstream, conf
    servers = re.findall(r"^\s*server (\S+) ([^;]*);", upstream[2], re.MULTILINE)
    assert [address for address, _ in servers] == [f"{name}:8000" for name in REPLICAS]
    assert all("resolve" in options.split() for _, options in servers)  # new addresses followed
    assert re.search(r"^resolver 127\.0\.0\.11\b", conf, re.MULTILINE)  # Docker's DNS
    assert f"proxy_pass http://{upstream[1]};" in conf
    assert re.search(r"^\s*listen 8000;", conf, re.MULTILINE)
    # a POST that reached a replica is never passed to the other one
    assert "non_idempotent" not in conf
    # nginx waits longer than the router, so the router's timeout decides
    read_timeout = re.search(r"proxy_read_timeout (\S+);", conf)
    assert read_timeout
    assert seconds(read_timeout[1]) > seconds(router_config()["traffic_shaping"]["all"]["timeout"])
    mounted = services()["balancer"]["volumes"]
    assert mounted == ["./nginx.conf:/etc/nginx/conf.d/default.conf:ro"]


def test_the_router_serves_the_committed_supergraph_with_its_config():
    router = services()["router"]
    mounts = dict(volume.rsplit(":", 1)[0].split(":", 1) for volume in router["volumes"])
    for source in mounts:
        assert (DEPLOY / source).is_file(), source
    config_path = mounts["./router.yaml"]
    supergraph_path = mounts["./supergraph.graphql"]
    command = router["command"]
    assert command[command.index("--config") + 1] == config_path
    assert command[command.index("--supergraph") + 1] == supergraph_path
    assert router["environment"]["APOLLO_TELEMETRY_DISABLED"] == "true"
    config = router_config()
    assert config["supergraph"]["listen"] == "0.0.0.0:4000"
    propagated = [rule["propagate"]["named"] for rule in config["headers"]["all"]["request"]]
    assert "idempotency-key" in propagated  # "retry with the same key" through the router
    assert config["include_subgraph_errors"] == {"all": True}  # our codes reach clients
    assert seconds(config["traffic_shaping"]["router"]["timeout"]) > seconds(
        config["traffic_shaping"]["all"]["timeout"]
    )


def test_the_supergraph_routes_our_subgraph_to_the_balancer():
    text = (DEPLOY / "supergraph.graphql").read_text(encoding="utf-8")
    graphs = re.findall(r'@join__graph\(name: "([^"]+)", url: "([^"]+)"\)', text)
    assert graphs == [("kickserv", "http://balancer:8000/graphql")]
    assert "balancer" in services()
    assert text.startswith("# Generated by scripts/supergraph.py from schema.graphql")


def test_the_env_example_names_the_credentials_and_holds_no_secret():
    lines = (DEPLOY / "kickserv.env.example").read_text(encoding="utf-8").splitlines()
    values = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert set(values) == {"KICKSERV_ACCOUNT", "KICKSERV_API_TOKEN"}
    assert values["KICKSERV_ACCOUNT"] == "your-account-slug"
    assert values["KICKSERV_API_TOKEN"].startswith("replace-with-")
    # what holds real values is never committed
    ignored = subprocess.run(
        ["git", "check-ignore", "deploy/kickserv.env", "deploy/.env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ignored.stdout.split() == ["deploy/kickserv.env", "deploy/.env"], ignored.stderr


# --- the supergraph, with Apollo's tools ---------------------------------------------------


@pytest.mark.federation
def test_the_supergraph_is_what_scripts_supergraph_composes_from_schema_graphql():
    from tests.federation.harness import require_federation_tools

    require_federation_tools()
    script = _supergraph_script()
    assert (DEPLOY / "supergraph.graphql").read_text(encoding="utf-8") == script.supergraph_sdl(), (
        "deploy/supergraph.graphql is stale: run .venv/bin/python scripts/supergraph.py"
    )


@pytest.mark.federation
def test_apollo_gateway_runs_the_supergraph_a_query_and_a_keyed_mutation_once(tmp_path):
    from graph.server.assembly import build_app
    from graph.server.settings import Settings
    from sandbox.app import SandboxConfig
    from sandbox.testing import running_sandbox
    from tests.federation.harness import require_federation_tools, running_gateway
    from tests.graph.conftest import uvicorn_in_thread

    require_federation_tools()
    supergraph = (DEPLOY / "supergraph.graphql").read_text(encoding="utf-8")
    with running_sandbox(SandboxConfig(customers=20, seed=2)) as sandbox:
        settings = Settings(
            kickserv_account="demo",
            kickserv_api_token="demo-token",
            kickserv_base_url=sandbox.base_url,
            state_dir=str(tmp_path),
        )
        with uvicorn_in_thread(build_app(settings)) as base_url:
            local = supergraph.replace("http://balancer:8000/graphql", f"{base_url}/graphql")
            with running_gateway(local) as gateway:
                listed = _post(gateway, "{ customers(first: 3) { totalCount nodes { number } } }")
                assert listed["customers"]["totalCount"] == 20
                name = f"Deploy check {uuid.uuid4().hex[:8]}"
                numbers = {
                    _post(gateway, CREATE, {"name": name, "key": f"deploy-{name}"})[
                        "createCustomer"
                    ]["number"]
                    for _ in range(2)
                }
                assert len(numbers) == 1
                found = _post(gateway, COUNT, {"name": name})
                assert found["customers"]["totalCount"] == 1


CREATE = """
mutation Create($name: String!, $key: String) {
  createCustomer(input: {name: $name}, idempotencyKey: $key) { number name }
}
"""
COUNT = "query Count($name: String!) { customers(filter: {name: $name}) { totalCount } }"


def _post(url: str, query: str, variables: dict[str, Any] | None = None, **headers: str) -> Any:
    response = httpx.post(
        url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=60
    )
    body = response.json()
    assert response.status_code == 200 and not body.get("errors"), body
    return body["data"]


def _supergraph_script() -> Any:
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("supergraph", ROOT / "scripts" / "supergraph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


# --- Docker: the compose file parsed by Compose, the stack run by an engine ----------------


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        version = subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=20, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return version.returncode == 0


def _docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return False
    return info.returncode == 0


def _compose_env(env_file: Path, router_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_PASSWORD": uuid.uuid4().hex,
        "KICKSERV_ENV_FILE": str(env_file),
        "ROUTER_PORT": str(router_port),
    }


def test_docker_compose_accepts_the_file(tmp_path):
    if not _compose_available():
        pytest.skip(
            "the Docker Compose plugin is not installed here (`docker compose version` fails): "
            "the file is checked as YAML above, not by Compose"
        )
    env_file = tmp_path / "kickserv.env"
    shutil.copy(DEPLOY / "kickserv.env.example", env_file)
    done = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "--profile", "sandbox", "config", "--quiet"],
        env=_compose_env(env_file, 4000),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    # without a password Compose refuses to start anything
    unset = {k: v for k, v in _compose_env(env_file, 4000).items() if k != "REDIS_PASSWORD"}
    refused = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        env=unset,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode != 0 and "REDIS_PASSWORD" in refused.stderr


# Run inside a replica's container (its image has Python, no curl): POST stdin to that replica.
EXEC_POST = (
    "import sys, urllib.request\n"
    "headers = {'content-type': 'application/json'}\n"
    "if sys.argv[1:]: headers['idempotency-key'] = sys.argv[1]\n"
    "request = urllib.request.Request('http://127.0.0.1:8000/graphql', "
    "data=sys.stdin.buffer.read(), headers=headers)\n"
    "print(urllib.request.urlopen(request, timeout=90).read().decode())\n"
)


class Stack:
    """`docker compose` for one project of deploy/compose.yaml, on the sandbox profile."""

    def __init__(self, tmp_path: Path) -> None:
        self.project = f"kickserv-graph-test-{uuid.uuid4().hex[:8]}"
        env_file = tmp_path / "kickserv.env"
        env_file.write_text(
            "KICKSERV_ACCOUNT=demo\nKICKSERV_API_TOKEN=demo-token\n"
            "KICKSERV_BASE_URL=http://sandbox:8025\n"
        )
        self.port = _free_port()
        self.env = _compose_env(env_file, self.port)

    def call(
        self, *args: str, timeout: float = 120, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        command = ["docker", "compose", "-p", self.project, "-f", str(COMPOSE)]
        return subprocess.run(
            [*command, "--profile", "sandbox", *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def run(self, *args: str, timeout: float = 120, stdin: str | None = None) -> str:
        done = self.call(*args, timeout=timeout, stdin=stdin)
        assert done.returncode == 0, f"docker compose {' '.join(args)}:\n{done.stderr}"
        return done.stdout

    def post_on(
        self, replica: str, query: str, variables: dict[str, Any], key: str | None = None
    ) -> Any:
        """POST to one replica directly (from inside its container); the response's data."""
        body = json.dumps({"query": query, "variables": variables})
        keys = [] if key is None else [key]
        out = self.run("exec", "-T", replica, "python", "-c", EXEC_POST, *keys, stdin=body)
        answer = json.loads(out)
        assert not answer.get("errors"), answer
        return answer["data"]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    if not _docker_engine() or not _compose_available():
        pytest.skip(
            "no Docker engine runs here (`docker info` fails, or no Compose plugin): "
            "deploy/compose.yaml is checked above but not run"
        )
    running = Stack(tmp_path)
    try:
        running.run("up", "-d", "--build", "--wait", "--wait-timeout", "600", timeout=1200)
        yield running
    finally:
        logs = running.call("logs", "--no-color", "--tail", "40", timeout=60)
        print(logs.stdout + logs.stderr)  # shown when the test failed
        running.call("down", "-v", "--remove-orphans", "--rmi", "local", timeout=300)


def test_the_stack_answers_through_the_router_and_a_keyed_write_happens_once(stack: Stack):
    router = f"http://127.0.0.1:{stack.port}/"
    listed = _post(router, "{ customers(first: 2) { totalCount nodes { number name } } }")
    assert listed["customers"]["totalCount"] > 0
    # one key: sent to each replica, then through the router (which must forward the header)
    name = f"Compose check {uuid.uuid4().hex[:8]}"
    key = f"deploy-{name}"
    answers = [stack.post_on(replica, CREATE, {"name": name}, key) for replica in REPLICAS]
    answers.append(_post(router, CREATE, {"name": name}, **{"Idempotency-Key": key}))
    numbers = {answer["createCustomer"]["number"] for answer in answers}
    assert len(numbers) == 1, answers
    # one customer, read at once on each replica and through the router
    for replica in REPLICAS:
        assert stack.post_on(replica, COUNT, {"name": name})["customers"]["totalCount"] == 1
    assert _post(router, COUNT, {"name": name})["customers"]["totalCount"] == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
