"""`segbot diagnose` end to end against a real sshd on loopback, with a playbook that runs here."""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.diagnose.cli_run import run_cli
from tests.diagnose.sshd_server import Sshd

PLAYBOOK = """\
name: loopback
steps:
  - id: cores
    title: Find the crash
    command: echo "newest core pid 4242"
    capture: {pid: 'pid (\\d+)'}
  - id: dump_core
    title: Preserve the core
    command: mkdir -p {core_dir} && cp {binary} {core_path}
    needs: [cores]
  - id: core_sha256
    title: Checksum the core
    command: sha256sum {core_path}
    parser: sha256sum
    needs: [dump_core]
  - id: fetch_core
    title: Copy the core off the host
    fetch: '{core_path}'
    needs: [core_sha256]
    verify: core_sha256
  - id: kernel
    title: Kernel line
    command: 'echo "[Wed Jan 22 03:11:07 2026] checkout-api[4242]: segfault at 0000000000000038
      ip 000055c1b2f9a4d2 sp 00007ffd7b5d1a10 error 4 in checkout-api[55c1b2f82000+3e0000]"'
    parser: kernel
  - id: hang
    title: A command that hangs
    command: sleep 300
    timeout: 1
  - id: cleanup
    title: Remove the extracted core
    command: rm -f {core_path}
    needs: [fetch_core]
    optional: true
"""


def _config(tmp_path: Path, hosts: dict[str, dict[str, object]]) -> Path:
    binary = tmp_path / "checkout-api"
    binary.write_bytes(b"\x7fELF pretend binary\n" * 100)
    (tmp_path / "playbook.yaml").write_text(PLAYBOOK)
    lines = ["defaults:", f"  playbook: {tmp_path / 'playbook.yaml'}",
             f"  evidence_dir: {tmp_path / 'evidence'}", "  sudo: false", "hosts:"]
    for name, entry in hosts.items():
        lines.append(f"  {name}: {json.dumps(entry)}")
    lines += ["services:", "  checkout-api:", "    unit: checkout-api.service",
              f"    binary: {binary}", f"    hosts: {json.dumps(list(hosts))}"]
    path = tmp_path / "segbot.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cores() -> set[Path]:
    return set(Path("/var/tmp/segbot-cores").glob("checkout-api-*.core"))


@pytest.fixture(autouse=True)
def _no_leftover_cores() -> Iterator[None]:
    """The loopback "host" is this machine: remove the cores its playbook extracted here."""
    before = _cores()
    yield
    for path in _cores() - before:
        path.unlink(missing_ok=True)


def test_diagnose_one_host_json(sshd: Sshd, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, {"loop": sshd.config_entry()})
    code, out, _ = run_cli(["diagnose", "--config", str(config), "--json", "loop", "checkout-api"],
                        capsys)
    assert code == 0
    data = json.loads(out)
    status = {s["id"]: s["status"] for s in data["steps"]}
    assert status == {"cores": "ok", "dump_core": "ok", "core_sha256": "ok", "fetch_core": "ok",
                      "kernel": "ok", "hang": "timed-out", "cleanup": "ok"}
    [artifact] = data["artifacts"]
    assert artifact["verified"] is True
    assert Path(artifact["path"]).read_bytes() == (tmp_path / "checkout-api").read_bytes()
    [crash] = data["crashes"]
    assert crash["signal"] == "SIGSEGV" and crash["fault_address"] == "0x38"
    assert crash["module_offset"] == "0x184d2"
    assert data["host"] == "loop" and data["error"] is None


def test_fan_out_over_a_services_hosts(sshd: Sshd, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, {"loop-a": sshd.config_entry(), "loop-b": sshd.config_entry()})
    code, out, _ = run_cli(["diagnose", "--config", str(config), "--json", "checkout-api"], capsys)
    assert code == 0
    data = json.loads(out)
    assert [h["host"] for h in data["hosts"]] == ["loop-a", "loop-b"]
    radius = data["blast_radius"]
    assert radius["crashing"] == ["loop-a", "loop-b"] and radius["same_signature"] is True
    code, out, _ = run_cli(["diagnose", "--config", str(config), "--hosts", "loop-b",
                         "checkout-api"], capsys)
    assert code == 0
    assert "loop-b / checkout-api" in out and "loop-a" not in out
    assert "timed-out" in out and "preserved:" in out and "signature:" in out
    assert "blast radius: crashing ['loop-b']" in out


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port that records whether anybody connected (nobody should)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server


HOSTILE = ["node;id", "$(touch /tmp/pwned)", "`id`", "node\nid", "-oProxyCommand=id",
           "--", "-x", "a b", "../etc"]


@pytest.mark.parametrize("text", HOSTILE)
@pytest.mark.parametrize("position", ["host", "service"])
def test_hostile_host_or_service_is_refused_before_any_connection(
        text: str, position: str, tmp_path: Path, listener: socket.socket,
        capsys: pytest.CaptureFixture[str]) -> None:
    entry = {"address": "127.0.0.1", "port": listener.getsockname()[1],
             "known_hosts": str(tmp_path / "kh"), "identity_file": str(tmp_path / "id")}
    config = _config(tmp_path, {"loop": entry})
    pair = [text, "checkout-api"] if position == "host" else ["loop", text]
    code, _, err = run_cli(["diagnose", "--config", str(config), "--", *pair], capsys)
    assert code == 2, err
    readable, _, _ = select.select([listener], [], [], 0.2)
    assert readable == []  # no connection was even attempted


def test_unknown_inventory_names_are_refused(tmp_path: Path, listener: socket.socket,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    entry = {"address": "127.0.0.1", "port": listener.getsockname()[1]}
    config = _config(tmp_path, {"loop": entry})
    for pair, message in ((["elsewhere", "checkout-api"], "unknown host"),
                          (["loop", "billing"], "unknown service")):
        code, _, err = run_cli(["diagnose", "--config", str(config), *pair], capsys)
        assert code == 2 and message in err
    assert select.select([listener], [], [], 0.2)[0] == []


def test_changed_host_key_refused_with_nothing_run(sshd: Sshd, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    known = tmp_path / "known_hosts"
    other_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    known.write_text(f"[127.0.0.1]:{sshd.port} {other_key}\n")
    entry = {**sshd.config_entry(), "known_hosts": str(known)}
    config = _config(tmp_path, {"loop": entry})
    before = _cores()
    code, _, err = run_cli(["diagnose", "--config", str(config), "loop", "checkout-api"], capsys)
    assert code == 1
    assert "CHANGED" in err
    assert _cores() == before  # not even the first step ran
    assert not (tmp_path / "evidence").exists()
