"""segbot against a real Unleash server (npm unleash-server on the test PostgreSQL): the flag
service client reads a flag's state and its events, the disable_flag action configured for
Unleash turns it off, and Unleash's own event log records who did it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from store.databases import postgres_admin_url

from bot.adapters.containment.executor import ConfiguredExecutor
from bot.adapters.flag_service import HttpFlagService
from bot.app.ports.hosts import CommandRunner
from bot.config import Config
from bot.config.changes import FlagServiceSettings

TOKEN = "*:*.segbot-test-" + uuid.uuid4().hex  # an admin token, made at Unleash's first start
ENV = {"UNLEASH_TOKEN": TOKEN}
BASE = "/api/admin/projects/default/features"

# Unleash's own start API: the database, a loopback port and the admin token come from the
# environment; telemetry and the version check stay off (the test touches loopback only).
START = """
import { createRequire } from 'node:module';
const home = process.env.UNLEASH_HOME;
const unleash = await import(createRequire(home + '/package.json').resolve('unleash-server'));
await unleash.start({
  db: { connectionString: process.env.DATABASE_URL, ssl: false, pool: { min: 0, max: 4 } },
  server: { host: '127.0.0.1', port: Number(process.env.UNLEASH_PORT) },
  authentication: { initApiTokens: [{ tokenName: 'segbot-admin', type: 'admin',
    secret: process.env.UNLEASH_ADMIN_TOKEN, projects: ['*'], environment: '*' }] },
  versionCheck: { enable: false },
  logLevel: 'warn',
});
"""


@dataclass(frozen=True)
class Unleash:
    url: str
    log: Path

    def api(self, method: str, path: str, body: Any = None) -> Any:
        answer = httpx.request(method, self.url + path, json=body, timeout=30,
                               headers={"Authorization": TOKEN}, trust_env=False)
        assert answer.is_success, (method, path, answer.status_code, answer.text)
        return answer.json() if answer.content else None


def _unavailable(why: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the real Unleash tests: {why}")
    pytest.skip(f"{why}: run .ci/setup.d/50-unleash.sh (npm install of unleash-server)")


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed")
    assert node is not None
    major = subprocess.run([node, "--version"], capture_output=True, text=True,
                           check=True).stdout.strip().lstrip("v").split(".")[0]
    if int(major) < 18:
        _unavailable(f"unleash-server needs Node >= 18, this is {major}")
    return node


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def unleash(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Unleash]:
    home = os.environ.get("SEGBOT_UNLEASH_HOME", "")
    if not home:
        _unavailable("SEGBOT_UNLEASH_HOME is unset")
    if not (Path(home) / "package.json").is_file():
        _unavailable(f"unleash-server is not installed at {home}")
    node = _node()
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = make_url(postgres_admin_url() or "")
    name = f"unleash_t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    where = tmp_path_factory.mktemp("unleash")
    (where / "start.mjs").write_text(START)
    port = _free_port()
    database = admin.set(drivername="postgresql", database=name)
    log = where / "unleash.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [node, str(where / "start.mjs")], cwd=where, stdout=out, stderr=subprocess.STDOUT,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(where),
                 "UNLEASH_HOME": home, "UNLEASH_PORT": str(port),
                 "UNLEASH_ADMIN_TOKEN": TOKEN,
                 "DATABASE_URL": database.render_as_string(hide_password=False)})
    try:
        # A first start runs Unleash's migrations on the empty database (about 15 s here).
        deadline = time.monotonic() + 300
        while True:
            if server.poll() is not None:
                pytest.fail(f"unleash-server exited {server.returncode}:\n"
                            f"{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2,
                             trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"unleash-server not healthy:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield Unleash(f"http://127.0.0.1:{port}", log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _flag(unleash: Unleash) -> str:
    flag = f"pricing_v4_{uuid.uuid4().hex[:8]}"
    unleash.api("POST", f"{BASE}", {"name": flag, "type": "release"})
    unleash.api("POST", f"{BASE}/{flag}/environments/production/on")
    return flag


def _no_ssh(host: str) -> CommandRunner:
    raise AssertionError("no SSH in this test")


def _executor(url: str) -> ConfiguredExecutor:
    env_path = f"{url}{BASE}/{{flag}}/environments/production"
    config = Config.model_validate({
        "hosts": {"node-17": {"address": "127.0.0.1"}},
        "services": {"checkout-api": {
            "unit": "checkout-api.service", "binary": "/opt/checkout/bin/checkout-api",
            "hosts": ["node-17"],
            "actions": {"disable_flag": {
                "method": "POST", "url": env_path + "/off",
                "headers": {"Authorization": "${UNLEASH_TOKEN}"},
                "body": {"reason": "segbot incident {incident}"},
                "read": {"url": env_path, "headers": {"Authorization": "${UNLEASH_TOKEN}"},
                         "value": "enabled"}}}}}})
    return ConfiguredExecutor(config, environ=ENV, connect=_no_ssh)


def _client(url: str) -> HttpFlagService:
    return HttpFlagService(FlagServiceSettings(kind="unleash", url=url,
                                               token_env="UNLEASH_TOKEN"), ENV)


def test_the_client_reads_the_real_state_and_events(unleash: Unleash) -> None:
    flag = _flag(unleash)
    unleash.api("POST", f"{BASE}/{flag}/environments/development/on")
    now = datetime.now(UTC)
    found = _client(unleash.url).recent([flag], now=now)
    assert [(s.flag, s.state, s.source) for s in found.states] == [
        (flag, "on", "unleash now")]
    # production's enable (and the default strategy Unleash adds with it), and the creation;
    # development's enable is another environment's and left out
    kinds = sorted((c.state, c.by) for c in found.changes)
    assert kinds == [("changed", "segbot-admin"), ("changed", "segbot-admin"),
                     ("on", "segbot-admin")], found.changes
    assert all(c.flag == flag and c.key.startswith("unleash:") for c in found.changes)


def test_a_busy_flag_s_changes_are_all_read(unleash: Unleash) -> None:
    flag = _flag(unleash)
    for _ in range(30):
        unleash.api("POST", f"{BASE}/{flag}/environments/production/off")
        unleash.api("POST", f"{BASE}/{flag}/environments/production/on")
    # Unleash's per-flag event route answers the newest 50 from 7.x on, all of them in 6.x
    assert len(unleash.api("GET", f"/api/admin/events/{flag}")["events"]) in (50, 63)
    found = _client(unleash.url).recent([flag], now=datetime.now(UTC))
    states = [c.state for c in found.changes]
    assert (states.count("on"), states.count("off"), states.count("changed")) == (31, 30, 2)
    assert len({c.key for c in found.changes}) == 63


def test_disable_flag_turns_it_off_and_unleash_records_it(unleash: Unleash) -> None:
    flag = _flag(unleash)
    executor = _executor(unleash.url)
    target = {"service": "checkout-api", "flag": flag}
    assert executor.preview("disable_flag", target) == f"flag {flag} is true"
    outcome = executor.run("disable_flag", target, action_id="act-unleash-1",
                           values={"service": "checkout-api", "incident": "7"})
    assert outcome.state == "succeeded", outcome
    assert outcome.text.endswith(f"flag {flag} true -> false"), outcome.text
    assert TOKEN not in outcome.text
    # read back from Unleash itself, not from what segbot says
    state = unleash.api("GET", f"{BASE}/{flag}/environments/production")
    assert state["enabled"] is False
    feature = unleash.api("GET", f"{BASE}/{flag}")
    assert {e["name"]: e["enabled"] for e in feature["environments"]} == {
        "development": False, "production": False}
    events = unleash.api("GET", f"/api/admin/events/{flag}")["events"]
    newest = events[0]
    assert (newest["type"], newest["environment"], newest["createdBy"]) == (
        "feature-environment-disabled", "production", "segbot-admin")
    # and segbot's client, asked as when an incident opens, sees the same
    found = _client(unleash.url).recent([flag], now=datetime.now(UTC))
    assert [s.state for s in found.states] == ["off"]
    assert f"unleash:{newest['id']}" in {c.key for c in found.changes if c.state == "off"}


def test_a_wrong_token_changes_nothing(unleash: Unleash) -> None:
    flag = _flag(unleash)
    executor = _executor(unleash.url)
    wrong = ConfiguredExecutor(executor.config, environ={"UNLEASH_TOKEN": "*:*.not-a-token"},
                               connect=_no_ssh)
    outcome = wrong.run("disable_flag", {"service": "checkout-api", "flag": flag},
                        action_id="act-unleash-2",
                        values={"service": "checkout-api", "incident": "8"})
    assert outcome.state == "failed" and "HTTP 401" in outcome.text, outcome
    assert unleash.api("GET", f"{BASE}/{flag}/environments/production")["enabled"] is True
