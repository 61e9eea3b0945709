"""The package ships what it runs.

requirements.lock pins pyproject's runtime dependencies exactly (scripts/lock writes it); the files
the Dockerfile copies, installed from the lock into a fresh virtualenv, serve the graph with nothing
from the checkout (no bench/, no tests/) importable; and where a Docker engine runs, so does the image.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from graph.server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
QUERY = "{ customers(first: 1) { totalCount } }"
# The lock is made for the image's platform: CPython 3.11 on Linux.
LOCK_ENVIRONMENT = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux"}


# --- the lock -----------------------------------------------------------------------------


def lock_entries() -> list[tuple[Requirement, list[str]]]:
    """Each requirement of the lock with its ``--hash`` options (pip's requirements format)."""
    text = LOCK.read_text(encoding="utf-8").replace("\\\n", " ")
    entries = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        words = line.split()
        hashes = [word.removeprefix("--hash=") for word in words if word.startswith("--hash=")]
        spec = " ".join(word for word in words if not word.startswith("--hash="))
        assert spec and not spec.startswith("-"), f"requirements.lock: not a requirement: {line!r}"
        entries.append((Requirement(spec), hashes))
    return entries


def pin(requirement: Requirement) -> Version | None:
    """The exact version a requirement pins (``name==1.2.3``), or None when it pins none."""
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
        return None
    return Version(specifiers[0].version)


def test_lock_pins_every_runtime_dependency_within_pyproject():
    # given: the lock and pyproject's runtime dependencies
    entries = lock_entries()
    locked = {canonicalize_name(req.name): pin(req) for req, _ in entries}

    # then: nothing in the lock floats, every pin carries hashes (pip --require-hashes)
    assert entries
    unpinned = sorted(str(req) for req, _ in entries if pin(req) is None)
    assert not unpinned, f"requirements.lock has unpinned entries {unpinned}: run scripts/lock"
    unhashed = sorted(req.name for req, hashes in entries if not hashes)
    assert not unhashed, (
        f"requirements.lock has entries without hashes {unhashed}: run scripts/lock"
    )

    # and: every runtime dependency of pyproject is pinned, at a version its specifier allows
    for line in PYPROJECT["project"]["dependencies"]:
        wanted = Requirement(line)
        if wanted.marker is not None and not wanted.marker.evaluate(LOCK_ENVIRONMENT):
            continue
        name = canonicalize_name(wanted.name)
        assert name in locked, (
            f"{wanted.name} is in pyproject.toml, not in the lock: run scripts/lock"
        )
        version = locked[name]
        assert version is not None
        assert wanted.specifier.contains(version, prereleases=True), (
            f"the lock pins {wanted.name}=={version}, pyproject.toml wants {wanted}: run scripts/lock"
        )


# --- the Dockerfile's file set, installed --------------------------------------------------


def dockerfile_instructions() -> list[list[str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [line.split() for line in lines if line and not line.startswith("#")]


def copied_sources() -> list[tuple[str, str]]:
    """(source, destination) of every ``COPY`` of the Dockerfile, destinations relative to WORKDIR."""
    pairs = []
    for words in dockerfile_instructions():
        if words[0] != "COPY":
            continue
        arguments = [word for word in words[1:] if not word.startswith("--")]
        *sources, destination = arguments
        assert not destination.startswith("/"), f"COPY to an absolute path: {words}"
        for source in sources:
            target = destination + Path(source).name if destination.endswith("/") else destination
            pairs.append((source, target))
    return pairs


def dockerignore() -> Callable[[PurePosixPath], bool]:
    """Whether a path of the build context is left out by .dockerignore (its plain patterns)."""
    path = ROOT / ".dockerignore"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    patterns = [line.strip().strip("/") for line in lines]
    patterns = [p for p in patterns if p and not p.startswith("#")]
    assert not any(p.startswith("!") for p in patterns), "exceptions (!) are not modelled here"

    def ignored(relative: PurePosixPath) -> bool:
        for depth in range(1, len(relative.parts) + 1):
            prefix = PurePosixPath(*relative.parts[:depth])
            for pattern in patterns:
                if pattern.startswith("**/"):
                    if fnmatch(prefix.name, pattern.removeprefix("**/")):
                        return True
                elif fnmatch(str(prefix), pattern):
                    return True
        return False

    return ignored


def copy_build_context(destination: Path) -> list[str]:
    """Copies what the Dockerfile's COPY lines take (less .dockerignore) into destination."""
    ignored = dockerignore()

    def skip(directory: str, names: list[str]) -> set[str]:
        relative = PurePosixPath(Path(directory).relative_to(ROOT).as_posix())
        return {name for name in names if ignored(relative / name)}

    sources = []
    for source, target in copied_sources():
        origin = ROOT / source
        assert origin.exists(), f"the Dockerfile copies {source}, which is not in the repository"
        (destination / target).parent.mkdir(parents=True, exist_ok=True)
        if origin.is_dir():
            shutil.copytree(origin, destination / target, ignore=skip, dirs_exist_ok=True)
        else:
            shutil.copy2(origin, destination / target)
        sources.append(source)
    return sources


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str, timeout: float = 2) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until_healthy(base: str, alive: Callable[[], bool], log: Callable[[], str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert alive(), f"the server exited before /healthz answered:\n{log()}"
        try:
            if get(f"{base}/healthz", timeout=1)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    pytest.fail(f"/healthz did not answer within 60 s:\n{log()}")


def ask(base: str) -> dict[str, object]:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        answer: dict[str, object] = json.loads(response.read())
        return answer


def check_serves(base: str) -> None:
    answer = ask(base)
    assert answer.get("errors") is None, answer
    assert answer["data"] == {"customers": {"totalCount": Settings().sandbox_customers}}


def run(
    command: list[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=timeout
    )
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"
    return done


def clean_environment(home: Path) -> dict[str, str]:
    """No KICKSERV_* or GRAPH_* but production, no PYTHONPATH: as the image starts the server."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "GRAPH_ENV": "production"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(the image's WORKDIR, a fresh virtualenv): the lock, then the copied package with --no-deps."""
    base = tmp_path_factory.mktemp("image")
    workdir, venv = base / "app", base / "venv"
    workdir.mkdir()
    copy_build_context(workdir)
    # A venv without its own pip (seconds faster); the checkout's pip installs into it.
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q"]
    run([*pip, "--require-hashes", "-r", "requirements.lock"], cwd=workdir)
    run([*pip, "--no-deps", "."], cwd=workdir)
    yield workdir, venv


def test_dockerfile_installs_the_lock_then_exactly_the_package_source():
    instructions = dockerfile_instructions()
    lines = [" ".join(words) for words in instructions]
    sources = {source for source, _ in copied_sources()}
    packages = {
        p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    }

    # the package's source and the build's metadata, nothing run from a checkout only
    assert sources == packages | {"pyproject.toml", "README.md", "requirements.lock"}
    assert {"bench", "tests"}.isdisjoint(packages)
    # the lock in its own layer, before the source
    install_lock = next(i for i, line in enumerate(lines) if "-r requirements.lock" in line)
    copy_lock = next(i for i, line in enumerate(lines) if line.startswith("COPY requirements.lock"))
    first_source = min(
        i for i, words in enumerate(instructions) if words[0] == "COPY" and "graph" in words
    )
    assert copy_lock < install_lock < first_source
    assert any(line.startswith("RUN pip install --no-deps .") for line in lines[first_source:])
    # non-root, production, probed, configured only through the environment
    user = next(words[1] for words in instructions if words[0] == "USER")
    assert user not in ("root", "0")
    assert "ENV GRAPH_ENV=production" in lines
    assert any(line.startswith("HEALTHCHECK") and "/healthz" in line for line in lines)
    assert lines[-1] == 'CMD ["kickserv-graph", "serve", "--host", "0.0.0.0"]'
    assert not any(words[0] == "ARG" for words in instructions)


def test_installed_package_serves_without_the_checkout(installed):
    workdir, venv = installed
    env = clean_environment(workdir)

    # the wheel holds the four packages and nothing else
    listing = run(
        [
            str(venv / "bin" / "python"),
            "-I",
            "-c",
            "import json; from importlib.metadata import files; "
            "print(json.dumps(sorted({f.parts[0] for f in files('kickserv-graph') or ()})))",
        ],
        cwd=workdir,
        env=env,
    )
    top = {name for name in json.loads(listing.stdout) if name != ".." and ".dist-info" not in name}
    assert top == {"graph", "kickserv", "resolvers", "sandbox"}

    # the benchmark says where it runs instead of failing on an import
    bench = subprocess.run(
        [str(venv / "bin" / "kickserv-graph"), "bench", "--tiny"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert bench.returncode == 2, bench.stderr
    assert len(bench.stderr.strip().splitlines()) == 1 and "python -m bench" in bench.stderr

    # serve: the sandbox-backed graph, started as the image starts it
    port = free_port()
    log = workdir.parent / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [
                str(venv / "bin" / "kickserv-graph"),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_healthy(base, lambda: process.poll() is None, log.read_text)
        check_serves(base)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the image, where a Docker engine runs -------------------------------------------------


def docker_engine() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        info = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return False
    return info.returncode == 0


@contextmanager
def container(image: str, port: int) -> Iterator[str]:
    name = f"kickserv-graph-test-{uuid.uuid4().hex[:8]}"
    run(["docker", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000", image])
    try:
        yield name
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


def test_docker_image_serves():
    if not docker_engine():
        pytest.skip("no Docker engine runs here (`docker info` fails): the image is not built")
    image = f"kickserv-graph-test:{uuid.uuid4().hex[:8]}"
    run(["docker", "build", "-q", "-t", image, str(ROOT)], timeout=900)
    try:
        port = free_port()
        with container(image, port) as name:

            def alive() -> bool:
                state = subprocess.run(
                    ["docker", "inspect", "-f", "{{.State.Running}}", name],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                return state.stdout.strip() == "true"

            def logs() -> str:
                done = subprocess.run(
                    ["docker", "logs", name], capture_output=True, text=True, check=False
                )
                return done.stdout + done.stderr

            base = f"http://127.0.0.1:{port}"
            wait_until_healthy(base, alive, logs)
            check_serves(base)
            user = run(["docker", "exec", name, "id", "-u"]).stdout.strip()
            assert user != "0"
    finally:
        subprocess.run(["docker", "rmi", "-f", image], capture_output=True, check=False)
