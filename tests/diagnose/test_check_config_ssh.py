"""`segbot check-config --ssh`: every host is logged in to with its pinned key, nothing run."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from bot.cli import main
from tests.diagnose.sshd_server import Sshd


def _write(tmp_path: Path, hosts: dict[str, dict[str, object]]) -> Path:
    lines = ["defaults:", "  connect_timeout: 5", "hosts:"]
    lines += [f"  {name}: {json.dumps(entry)}" for name, entry in hosts.items()]
    lines += ["services:", "  checkout-api:", "    unit: checkout-api.service",
              "    binary: /opt/checkout/bin/checkout-api", f"    hosts: {json.dumps(list(hosts))}"]
    path = tmp_path / "segbot.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_good_host_passes_and_changed_key_fails(sshd: Sshd, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    wrong = tmp_path / "wrong_known_hosts"
    wrong.write_text(f"[{sshd.address}]:{sshd.port} {(other.with_suffix('.pub')).read_text()}")
    config = _write(tmp_path, {
        "good": sshd.config_entry(),
        "changed": {**sshd.config_entry(), "known_hosts": str(wrong)},
    })
    with pytest.raises(SystemExit) as exit_:
        main(["check-config", "--config", str(config), "--ssh"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 1
    assert "good: ok (host key pinned, login works)" in out
    assert "changed:" in out and "CHANGED" in out
    assert "1 of 2 hosts failed: changed" in err


def test_without_ssh_nothing_connects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        config = _write(tmp_path, {"node-17": {"address": "127.0.0.1", "port": port}})
        with pytest.raises(SystemExit) as exit_:
            main(["check-config", "--config", str(config)])
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked
    out, _ = capsys.readouterr()
    assert exit_.value.code == 0
    assert out.startswith("ok: 1 hosts, 1 services")
