"""deploy/haproxy/haproxy.cfg (two systemd replicas behind a load balancer) is a configuration
Debian's HAProxy accepts (`haproxy -c`), health-checking the readiness route."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.deploy_files import DEPLOY

CONFIG = DEPLOY / "haproxy" / "haproxy.cfg"


def test_the_example_is_valid_and_checks_readiness(tmp_path: Path) -> None:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.skip("haproxy not installed (.ci/setup.d/55-replicas.sh installs it)")
    text = CONFIG.read_text()
    assert "option httpchk GET /readyz" in text and text.count("server segbot-") >= 2
    # The certificate is the operator's: a self-signed one stands in for the check.
    pem = tmp_path / "segbot.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=segbot.test", "-keyout", str(pem), "-out", str(pem)],
                   check=True, capture_output=True)
    checked = tmp_path / "haproxy.cfg"
    checked.write_text(text.replace("/etc/haproxy/certs/segbot.pem", str(pem))
                       .replace("log /dev/log local0", "log stdout local0"))
    result = subprocess.run([haproxy, "-c", "-f", str(checked)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
