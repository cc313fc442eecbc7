"""Extracted cores on a real host from the lab, under the sudoers file deploy/host/sudoers.py
writes for it: after segbot diagnoses the host, an ordinary local user finds no core to read,
the host's copy is gone once the copy off the host matched its sha256 (kept, private, only when
configured), and a core directory someone else made first is refused. Needs root and the lab."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import load_config, load_playbook_file
from tests.lab.factory import HostFactory
from tests.lab.host import LabHost
from tests.support.deploy_files import sudoers_module

pytestmark = pytest.mark.lab
CORE_DIR = "/var/tmp/segbot-cores"


def _config(tmp_path: Path, host: LabHost, **defaults: Any) -> Path:
    extra = [f"  {key}: {json.dumps(value)}" for key, value in defaults.items()]
    text = "\n".join([
        "defaults:", f"  evidence_dir: {tmp_path / 'evidence'}", "  run_timeout: 120", *extra,
        "hosts:", f"  {host.name}: {json.dumps(host.ssh_config_entry())}",
        "services:", "  checkout-api:", "    unit: checkout-api.service",
        "    binary: /opt/checkout/bin/checkout-api", f"    hosts: [{host.name}]", ""])
    path = tmp_path / "segbot.yaml"
    path.write_text(text)
    return path


def _install_sudoers(host: LabHost, path: Path) -> None:
    config = load_config(path)
    text: str = sudoers_module().sudoers(config, load_playbook_file(None, config), host=host.name)
    host.run(["sh", "-c", "cat > /etc/sudoers.d/segbot.new && chmod 0440 /etc/sudoers.d/segbot.new"
              " && visudo -c -q -f /etc/sudoers.d/segbot.new"
              " && mv /etc/sudoers.d/segbot.new /etc/sudoers.d/segbot"], input=text, check=True)


def _diagnose(path: Path, host: LabHost, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    with pytest.raises(SystemExit) as exit_info:
        main(["diagnose", "--config", str(path), "--json", host.name, "checkout-api"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    data: dict[str, Any] = json.loads(out)
    return data


def _as_mallory(host: LabHost, script: str) -> str:
    done = host.run(["su", "-s", "/bin/sh", "mallory", "-c", script])
    return str(done.stdout + done.stderr)


def _readable_cores(host: LabHost) -> str:
    """Every core-like file an ordinary local user can read (empty: none)."""
    return _as_mallory(host, "find / -xdev -type f -readable \\( -name '*.core' -o -name "
                             "'core' -o -name 'core.[0-9]*' \\) 2>/dev/null; true").strip()


def test_a_diagnosed_host_leaves_no_core_another_user_can_read(
        lab_host_factory: HostFactory, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    host = lab_host_factory("core-private")
    host.run(["useradd", "--create-home", "--shell", "/bin/sh", "mallory"], check=True)
    path = _config(tmp_path, host)
    _install_sudoers(host, path)
    host.wait_for_crashes(1)

    data = _diagnose(path, host, capsys)
    status = {s["id"]: s for s in data["steps"]}
    assert status["dump_core"]["status"] == "ok", status["dump_core"]
    core = next(a for a in data["artifacts"] if a["step"] == "fetch_core")
    assert core["verified"] is True
    assert _readable_cores(host) == ""
    # the host's copy is gone: the verified copy is off the host
    left = host.run(["sh", "-c", f"ls -A {CORE_DIR}"], check=True).stdout
    assert left == "", left
    assert host.run(["stat", "-c", "%a %U", CORE_DIR], check=True).stdout.split() == [
        "700", "segbot"]

    # kept on the host only when configured: then private to the segbot user
    keep = _config(tmp_path, host, keep_host_cores=True)
    _diagnose(keep, host, capsys)
    [kept] = host.run(["sh", "-c", f"ls {CORE_DIR}/checkout-api-*.core"],
                      check=True).stdout.split()
    assert host.run(["stat", "-c", "%a %U", kept], check=True).stdout.split() == [
        "600", "segbot"]
    assert _readable_cores(host) == ""
    tried = _as_mallory(host, f"cat {kept} | head -c 4; ls {CORE_DIR}")
    assert "Permission denied" in tried and "ELF" not in tried, tried


def test_a_core_directory_made_by_someone_else_is_refused(
        lab_host_factory: HostFactory, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    host = lab_host_factory("core-planted")
    host.run(["useradd", "--create-home", "--shell", "/bin/sh", "mallory"], check=True)
    planted = "/var/tmp/segbot-planted"
    _as_mallory(host, f"mkdir -m 0777 {planted}")
    path = _config(tmp_path, host, core_dir=planted)
    _install_sudoers(host, path)
    host.wait_for_crashes(1)

    data = _diagnose(path, host, capsys)
    status = {s["id"]: s for s in data["steps"]}
    assert status["core_dir"]["status"] == "failed"
    assert status["dump_core"]["status"] == "skipped"
    assert host.run(["sh", "-c", f"ls -A {planted}"], check=True).stdout == ""
