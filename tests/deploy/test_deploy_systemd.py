"""deploy/systemd/segbot.service: systemd's own checker accepts it, and its sandbox scores as
well as we claim (`systemd-analyze security`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.support.deploy_files import DEPLOY

UNIT = DEPLOY / "systemd" / "segbot.service"

# The hardening the unit promises (deploy/README.md), each as `Key=value` exactly.
REQUIRED = [
    "User=segbot", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
    "NoNewPrivileges=yes", "CapabilityBoundingSet=",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
    "StateDirectory=segbot", "CacheDirectory=segbot", "EnvironmentFile=/etc/segbot/segbot.env",
    "Environment=SEGBOT_CONFIG=/etc/segbot/segbot.yaml", "UMask=0077", "LimitCORE=0",
]


def _directives() -> list[str]:
    return [line.strip() for line in UNIT.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith(("#", "["))]


def test_unit_has_the_promised_hardening() -> None:
    lines = _directives()
    for wanted in REQUIRED:
        assert wanted in lines, wanted
    start = next(line for line in lines if line.startswith("ExecStart="))
    assert re.fullmatch(r"ExecStart=/opt/segbot/bin/segbot serve --host \S+ --port 8080", start)
    assert not any(re.search(r"(?i)token=|secret=|xox[bpa]-", line) for line in lines)


def _in_namespace(command: str) -> subprocess.CompletedProcess[str]:
    """Run a systemd-analyze command where /opt/segbot/bin/segbot exists (a tmpfs over /opt in
    a private mount namespace): verify checks that ExecStart is executable."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare (a tmpfs over /opt in a private mount namespace)")
    script = ("set -e\nmount --make-rprivate /\nmount -t tmpfs tmpfs /opt\n"
              "mkdir -p /opt/segbot/bin\nprintf '#!/bin/sh\\n' > /opt/segbot/bin/segbot\n"
              "chmod 755 /opt/segbot/bin/segbot\n" + command)
    return subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True,
                          text=True, timeout=60)


def test_systemd_analyze_verify_is_clean() -> None:
    done = _in_namespace(f"systemd-analyze verify {UNIT}")
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


def test_systemd_analyze_verify_does_catch_mistakes() -> None:
    """The check above is live: one misspelt key makes verify complain."""
    broken = UNIT.read_text().replace("ProtectHome=yes", "ProtectHom=yes")
    done = _in_namespace(f"cat > /opt/segbot/broken.service <<'EOF'\n{broken}EOF\n"
                         "systemd-analyze verify /opt/segbot/broken.service")
    assert "ProtectHom" in done.stderr


def test_exposure_score_is_low() -> None:
    done = _in_namespace(f"systemd-analyze security --offline=yes --no-pager {UNIT}")
    if "--offline" in done.stderr and "unrecognized" in done.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd < 252)")
    match = re.search(r"Overall exposure level for segbot\.service: ([0-9.]+)", done.stdout)
    assert match, done.stdout[-500:] + done.stderr
    assert float(match.group(1)) <= 2.0, done.stdout
