"""deploy/host/restart-delay: writes exactly segbot's drop-in, refuses anything else. Run for real
in a private mount namespace with a tmpfs over /etc/systemd/system (the machine's is untouched).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.deploy_files import DEPLOY, need_root_namespace

HELPER = DEPLOY / "host" / "restart-delay"
DROPIN = "/etc/systemd/system/checkout-api.service.d/segbot-restart.conf"


def _in_namespace(script: str) -> subprocess.CompletedProcess[str]:
    need_root_namespace()
    wrapped = ("set -u\nmount --make-rprivate /\nmount -t tmpfs tmpfs /etc/systemd/system\n"
               + script)
    done = subprocess.run(["unshare", "--mount", "sh", "-c", wrapped], capture_output=True,
                          text=True, timeout=60)
    if "Operation not permitted" in done.stderr and "mount" in done.stderr:
        pytest.skip(f"no mount namespace here: {done.stderr.strip()}")
    return done


def test_set_then_clear() -> None:
    h = shlex.quote(str(HELPER))
    done = _in_namespace(
        f"{h} set checkout-api.service 30 >/dev/null || exit 10\n"
        f"cat {DROPIN}; stat -c 'mode=%a owner=%U' {DROPIN}\n"
        f"{h} set checkout-api.service 45 >/dev/null || exit 11\n"
        f"grep RestartSec {DROPIN}\n"
        "ls -A /etc/systemd/system/checkout-api.service.d | wc -l\n"
        f"{h} clear checkout-api.service >/dev/null || exit 12\n"
        "[ -e /etc/systemd/system/checkout-api.service.d ] && echo dir-left || echo dir-gone\n"
        f"{h} clear checkout-api.service >/dev/null || exit 13\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[Unit]\nStartLimitIntervalSec=600s\nStartLimitBurst=5\n[Service]\nRestartSec=30s\n" \
        in out
    assert "LimitCORE" not in out
    assert "mode=644 owner=root" in out
    assert "RestartSec=45s\n1\n" in out  # replaced in place, no temp file left behind
    assert out.rstrip().endswith("dir-gone")


def test_core_limit_only_when_asked() -> None:
    h = shlex.quote(str(HELPER))
    done = _in_namespace(f"{h} set checkout-api.service 30 core >/dev/null && cat {DROPIN}\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("RestartSec=30s\nLimitCORE=infinity\n")


def test_clear_keeps_other_dropins() -> None:
    h = shlex.quote(str(HELPER))
    done = _in_namespace(
        "mkdir -p /etc/systemd/system/checkout-api.service.d\n"
        "echo '[Service]' > /etc/systemd/system/checkout-api.service.d/admin.conf\n"
        f"{h} set checkout-api.service 5 >/dev/null || exit 10\n"
        f"{h} clear checkout-api.service >/dev/null || exit 11\n"
        "ls /etc/systemd/system/checkout-api.service.d\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["admin.conf"]


@pytest.mark.parametrize("argv", [
    ["set", "../../etc/passwd", "30"],
    ["set", "checkout-api.service/../../x.service", "30"],
    ["set", "checkout-api.socket", "30"],
    ["set", "-x.service", "30"],
    ["set", "a b.service", "30"],
    ["set", "checkout-api.service\nExecStartPre=/bin/sh", "30"],
    ["set", "checkout-api.service", "30\nExecStartPre=/bin/sh"],
    ["set", "checkout-api.service", "0"],
    ["set", "checkout-api.service", "030"],
    ["set", "checkout-api.service", "3601"],
    ["set", "checkout-api.service", "99999999999999999999"],
    ["set", "checkout-api.service", "-1"],
    ["set", "checkout-api.service", "1s"],
    ["set", "checkout-api.service"],
    ["set", "checkout-api.service", "30", "x"],
    ["set", "checkout-api.service", "30", "core", "x"],
    ["set", "checkout-api.service", "30", "Core"],
    ["clear", "checkout-api.service", "x"],
    ["remove", "checkout-api.service"],
    [],
])
def test_refuses_anything_but_a_unit_and_seconds(argv: list[str]) -> None:
    args = " ".join(shlex.quote(a) for a in argv)
    done = _in_namespace(f"{shlex.quote(str(HELPER))} {args}; echo rc=$?\n"
                         "find /etc/systemd/system -mindepth 1 | wc -l\n")
    assert "rc=2" in done.stdout, (argv, done.stdout, done.stderr)
    assert done.stdout.split()[-1] == "0", "refused, but something was written"


def test_dropin_is_valid_systemd_syntax(tmp_path: Path) -> None:
    """The drop-in the helper writes, checked by systemd's own parser."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    h = shlex.quote(str(HELPER))
    done = _in_namespace(f"{h} set checkout-api.service 30 >/dev/null && cat {DROPIN}\n")
    assert done.returncode == 0, done.stderr
    unit_dir = tmp_path / "checkout-api.service.d"
    unit_dir.mkdir()
    (unit_dir / "segbot-restart.conf").write_text(done.stdout)
    (tmp_path / "checkout-api.service").write_text(
        "[Unit]\nDescription=test\n[Service]\nExecStart=/bin/true\nRestart=always\n")
    verify = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "checkout-api.service")],
                            capture_output=True, text=True, cwd=tmp_path)
    assert verify.returncode == 0 and "checkout-api" not in verify.stderr, verify.stderr
