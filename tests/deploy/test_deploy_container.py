"""deploy/container/Dockerfile. No Docker engine here, so: its structure (stages, non-root user,
health check, entry point, nothing secret), every COPY source present and let through by the
ignore file, and the parts that run for real here: the entry point's arguments and the health
check command against a real `segbot serve`, and the build stage's install + playbook step."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.deploy_files import DEPLOY, EXAMPLE_CONFIG, REPO
from tests.support.local_http import free_port

DOCKERFILE = DEPLOY / "container" / "Dockerfile"
IGNORE = DEPLOY / "container" / "Dockerfile.dockerignore"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = pending + line
        pending = ""
        word, _, rest = full.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for instruction in _instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _final(name: str) -> str:
    return [args for word, args in _stages()[-1] if word == name][-1]


def test_multi_stage_on_python_311_slim() -> None:
    args = dict(a.split("=", 1) for w, a in _instructions() if w == "ARG" and "=" in a)
    stages = _stages()
    assert len(stages) >= 2
    for stage in stages:
        image = stage[0][1].split()[0].replace("${PYTHON_IMAGE}", args.get("PYTHON_IMAGE", ""))
        assert image == "python:3.11-slim"
    assert any(w == "COPY" and "--from=build" in a for w, a in stages[-1])


def test_runs_as_a_non_root_user() -> None:
    user = _final("USER").split(":")[0]
    assert user not in {"0", "root"}
    assert user.isdigit() and int(user) >= 1000  # numeric: Kubernetes' runAsNonRoot can check it


def test_entrypoint_and_healthcheck() -> None:
    entry = json.loads(_final("ENTRYPOINT"))
    assert entry[:2] == ["/opt/segbot/bin/segbot", "serve"]
    assert entry[entry.index("--host") + 1] == "0.0.0.0"
    port = entry[entry.index("--port") + 1]
    assert _final("EXPOSE") == port
    health = _final("HEALTHCHECK")
    assert f"http://127.0.0.1:{port}/healthz" in health and "CMD [" in health


def test_no_secret_is_baked_in() -> None:
    for word, args in _instructions():
        if word in {"ENV", "ARG", "LABEL"}:
            assert not re.search(r"(?i)token|secret|password|private|xox[abp]-", args), args
    text = DOCKERFILE.read_text()
    assert "id_ed25519" not in text.split("FROM", 1)[1]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        body = pattern[1:] if negate else pattern
        body = body.rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, body) for p in prefixes) or (
                body.startswith("**/") and any(fnmatch.fnmatchcase(x, body[3:]) for x in parts)):
            ignored = not negate
    return ignored


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    patterns = [line.strip() for line in IGNORE.read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    copies = [a for w, a in _instructions() if w in {"COPY", "ADD"} and "--from=" not in a]
    assert copies
    for args in copies:
        sources = [s for s in shlex.split(args) if not s.startswith("--")][:-1]
        for source in sources:
            assert (REPO / source).exists(), f"COPY {source}: not in the repository"
            assert not _ignored(source, patterns), f"COPY {source}: excluded by the ignore file"
    for secretish in (".venv/bin/python", ".git/config", "deploy/config.example.yaml",
                      "bot/__pycache__/x.pyc", "tests/conftest.py"):
        assert _ignored(secretish, patterns), secretish


def test_entrypoint_serves_and_the_healthcheck_command_sees_it(tmp_path: Path) -> None:
    """The image's ENTRYPOINT arguments (host swapped to loopback) start a real server, and the
    HEALTHCHECK command, run as written, succeeds against it and fails once it is gone."""
    entry = json.loads(_final("ENTRYPOINT"))
    port = free_port()
    entry[entry.index("--host") + 1] = "127.0.0.1"
    entry[entry.index("--port") + 1] = str(port)
    health = json.loads(_final("HEALTHCHECK").split("CMD", 1)[1].strip())
    health_code = health[-1].replace(":8080/", f":{port}/")
    segbot = Path(sys.executable).parent / "segbot"
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"), "SEGBOT_CONFIG": str(EXAMPLE_CONFIG)}
    env.pop("SEGBOT_DATABASE_URL", None)
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen([str(segbot), *entry[1:]], env=env, stdout=sink, stderr=sink)
    try:
        deadline = time.monotonic() + 30
        while True:
            check = subprocess.run([sys.executable, "-c", health_code], capture_output=True)
            if check.returncode == 0:
                break
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "segbot serve never became healthy"
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=20)
    gone = subprocess.run([sys.executable, "-c", health_code], capture_output=True)
    assert gone.returncode != 0


@pytest.mark.slow
def test_an_installed_package_carries_its_playbooks(tmp_path: Path) -> None:
    """`pip install .` (the build stage, a VM) puts playbooks/ inside the package; the build
    stage's own check (its RUN that loads the playbook) then passes, run from elsewhere."""
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site),
         str(REPO)], capture_output=True, text=True, timeout=300)
    if install.returncode != 0 and re.search(r"(?i)connection|resolve|network", install.stderr):
        pytest.skip(f"no package index for the build backend: {install.stderr[-200:]}")
    assert install.returncode == 0, install.stderr
    shipped = sorted(p.name for p in (REPO / "playbooks").glob("*.yaml"))
    assert sorted(p.name for p in (site / "bot" / "playbooks").glob("*.yaml")) == shipped
    step = next(a for w, a in _instructions() if w == "RUN" and "load_playbook_file" in a)
    step = step.replace("/opt/segbot/bin/python", shlex.quote(sys.executable))
    step = step.replace("/opt/segbot/bin/segbot --help",
                        f"{shlex.quote(sys.executable)} -m bot --help")
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run(["sh", "-c", step], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    where = subprocess.run(
        [sys.executable, "-c", "from bot.config import default_playbook_path as p; print(p())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(site / "bot" / "playbooks" / "segfault.yaml")
