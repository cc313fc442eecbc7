"""deploy/host/sudoers.d/segbot: written from the real config and playbook, accepted by visudo,
and — asked of the real sudo — allowing exactly what segbot runs and refusing the rest."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from deploy_helpers import (
    COMMITTED_SUDOERS,
    EXAMPLE_CONFIG,
    need_root_namespace,
    sudo_verdicts,
    sudoers_module,
)

from bot.app.diagnose import Inventory
from bot.config import Config, load_config, load_playbook_file
from bot.domain.playbook import Playbook, render
from bot.domain.verification import crash_count_command

HELPER = "/usr/local/libexec/segbot/restart-delay"


@pytest.fixture(scope="module")
def config() -> Config:
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="module")
def playbook(config: Config) -> Playbook:
    return load_playbook_file(None, config)


@pytest.fixture(scope="module")
def generated(config: Config, playbook: Playbook) -> str:
    text: str = sudoers_module().sudoers(config, playbook)
    return text


def _segbot_commands(config: Config, playbook: Playbook, service: str) -> list[str]:
    """The privileged shell commands segbot sends for a service, rendered as diagnose renders
    them (the same Inventory values, a real stamp and pid), with the `sudo -n` prefix."""
    entry = config.services[service]
    host = config.service_hosts(service)[0]
    stamp = datetime(2026, 11, 26, 5, 7, 9, tzinfo=UTC).strftime("%Y%m%dT%H%M%SZ")
    inventory = Inventory(host=host, service=service, unit=entry.unit, binary=entry.binary,
                          user=config.target(host).user)
    values = {**inventory.values(stamp, "0f" * 16), "pid": "48213"}
    return [f"sudo -n {render(step.command, values)}" for step in playbook.steps
            if step.sudo and step.command is not None]


def test_committed_file_is_what_the_generator_writes(generated: str) -> None:
    assert COMMITTED_SUDOERS.read_text() == generated, (
        "deploy/host/sudoers.d/segbot is stale: python deploy/host/sudoers.py "
        "--config deploy/config.example.yaml > deploy/host/sudoers.d/segbot")


def test_visudo_accepts_the_committed_file(tmp_path: Path) -> None:
    if shutil.which("visudo") is None:
        pytest.skip("visudo is not installed (.ci/setup.d/40-deploy.sh installs sudo)")
    copy = tmp_path / "segbot"
    copy.write_text(COMMITTED_SUDOERS.read_text())
    copy.chmod(0o440)
    done = subprocess.run(["visudo", "-c", "-f", str(copy)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / "broken"
    broken.write_text(COMMITTED_SUDOERS.read_text().replace("NOPASSWD:", "NOPASSWD"))
    assert subprocess.run(["visudo", "-c", "-q", "-f", str(broken)]).returncode != 0


def test_no_wildcards_and_full_paths(generated: str) -> None:
    rules = [line.strip().rstrip(", \\") for line in generated.splitlines()
             if line.startswith("    /")]
    assert len(rules) >= 10
    for line in rules:
        assert line.startswith("/"), line
        assert "*" not in line.split(" ", 1)[1].replace("]*", ""), line  # no glob arguments
    for forbidden in (" ALL,", "(ALL)", "!", "SETENV", "/bin/sh", "/usr/bin/cat "):
        assert forbidden not in generated.split("# The playbook")[1]


def test_per_host_file_holds_only_that_hosts_services(config: Config,
                                                      playbook: Playbook) -> None:
    module = sudoers_module()
    node = module.sudoers(config, playbook, host="node-17")
    db = module.sudoers(config, playbook, host="db-3")
    assert "/opt/checkout/bin/checkout-api" in node and "pgbouncer" not in node
    assert "pgbouncer" in db and "checkout-api" not in db
    assert "SEGBOT_CONTAIN" in node and "SEGBOT_CONTAIN" not in db  # no restart_delay action
    with pytest.raises(module.SudoersError):
        module.sudoers(config, playbook, host="nope")


def test_cli_writes_the_file_and_fails_in_one_line(tmp_path: Path) -> None:
    script = COMMITTED_SUDOERS.parents[1] / "sudoers.py"
    done = subprocess.run([sys.executable, str(script),
                           "--config", str(EXAMPLE_CONFIG), "--host", "node-17"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("# /etc/sudoers.d/segbot")
    bad = subprocess.run([sys.executable, str(script),
                          "--config", str(tmp_path / "missing.yaml")],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1


def test_real_sudo_allows_every_privileged_playbook_command(
        config: Config, playbook: Playbook, generated: str, tmp_path: Path) -> None:
    need_root_namespace()
    commands = [c for s in config.services for c in _segbot_commands(config, playbook, s)]
    assert len(commands) >= 8
    verdicts = sudo_verdicts(tmp_path, generated, commands)
    refused = [c for c, v in zip(commands, verdicts, strict=True) if v != "allowed"]
    assert not refused, f"sudoers refuses what segbot runs: {refused}"


def test_real_sudo_allows_containment_for_configured_units_only(
        generated: str, tmp_path: Path) -> None:
    need_root_namespace()
    allowed = [
        f"sudo -n {HELPER} set checkout-api.service 30",
        f"sudo -n {HELPER} set checkout-api.service 3600",
        f"sudo -n {HELPER} set checkout-api.service 30 core",
        f"sudo -n {HELPER} clear checkout-api.service",
        "sudo -n systemctl daemon-reload",
        "sudo -n systemctl reset-failed checkout-api.service",
        "sudo -n systemctl restart checkout-api.service",
    ]
    refused = [
        f"sudo -n {HELPER} set checkout-api.service 99999",
        f"sudo -n {HELPER} set checkout-api.service 30 extra",
        f"sudo -n {HELPER} set checkout-api.service 30 core extra",
        f"sudo -n {HELPER} set 'checkout-api.service 30'x",
        f"sudo -n {HELPER} set ssh.service 30",
        f"sudo -n {HELPER} set pgbouncer.service 30",  # no restart_delay action configured
        "sudo -n systemctl restart pgbouncer.service",
        "sudo -n systemctl restart ssh.service",
        "sudo -n systemctl stop checkout-api.service",
        "sudo -n systemctl restart checkout-api.service ssh.service",
        "sudo -n systemctl daemon-reexec",
        "sudo -n systemctl edit checkout-api.service",
    ]
    verdicts = sudo_verdicts(tmp_path, generated, allowed + refused)
    assert verdicts == ["allowed"] * len(allowed) + ["refused"] * len(refused), list(
        zip(allowed + refused, verdicts, strict=True))


def test_real_sudo_refuses_escalation_attempts(generated: str, tmp_path: Path) -> None:
    """What someone holding segbot's key would try: other files, other units, extra arguments
    that turn an allowed program into a shell (gdb -ex shell, a pager), other programs."""
    need_root_namespace()
    binary, core = "/opt/checkout/bin/checkout-api", "/var/tmp/segbot-checkout-api-"
    good_core = f"{core}20261126T050709Z.core"
    attempts = [
        "sudo -n cat /etc/shadow",
        "sudo -n sh -c id",
        "sudo -n -s",
        "sudo -n -i",
        "sudo -n journalctl --no-pager -u ssh.service -S '30 min ago' -n 200",
        "sudo -n journalctl -u checkout-api.service -S '30 min ago' -n 200",  # pager: a shell
        "sudo -n journalctl --no-pager -u checkout-api.service -S '30 min ago' -n 200 -o json "
        "--output-fields=MESSAGE",
        "sudo -n dmesg -T -C",
        "sudo -n dmesg -T --clear",
        "sudo -n coredumpctl --no-pager list -r /usr/bin/sudo",
        "sudo -n coredumpctl --no-pager debug 48213",
        "sudo -n coredumpctl --no-pager dump 48213 --output=/etc/cron.d/x",
        "sudo -n coredumpctl --no-pager dump 48213 -o /etc/cron.d/x",
        "sudo -n coredumpctl --no-pager info 48213 extra",
        "sudo -n coredumpctl --no-pager info -- -1",
        f"sudo -n gdb -q -nx -batch -ex 'set pagination off' -ex 'thread apply all bt' "
        f"{binary} {core}x -ex 'shell id' x.core",
        f"sudo -n gdb -q -nx -batch -ex 'shell id' {binary} {good_core}",
        f"sudo -n gdb -q -batch -ex 'set pagination off' -ex 'thread apply all bt' "
        f"{binary} {good_core}",  # without -nx: reads ~/.gdbinit
        f"sudo -n gdb -q -nx -batch -ex 'info proc mappings' /bin/sh {good_core}",
        f"sudo -n gdb -q -nx -batch -ex 'info proc mappings' {binary} /etc/shadow",
        f"sudo -n gdb -q -nx -batch -ex 'info proc mappings' {binary} {core}../../etc/x.core",
        f"sudo -n sha256sum {good_core} /etc/shadow",
        "sudo -n sha256sum /etc/shadow",
        "sudo -n systemctl show checkout-api.service",  # the playbook runs it without sudo
    ]
    verdicts = sudo_verdicts(tmp_path, generated, attempts)
    let_through = [a for a, v in zip(attempts, verdicts, strict=True) if v != "refused"]
    assert not let_through, let_through


def test_rules_follow_shell_quoting(tmp_path: Path) -> None:
    """The argv sudo gets is what `sh` makes of the rendered command: pipelines end it,
    redirections are not arguments, quoted spaces stay inside one argument."""
    module = sudoers_module()
    cases = {
        "sudo -n dmesg -T | tail -n 200": ["dmesg", "-T"],
        "sudo -n coredumpctl --no-pager dump 7 2>&1 >x.core": [
            "coredumpctl", "--no-pager", "dump", "7"],
        "sudo -n journalctl -S '30 min ago' -n 2 && echo done": [
            "journalctl", "-S", "30 min ago", "-n", "2"],
        "sudo -n grep -E 'a|b' /etc/x; true": ["grep", "-E", "a|b", "/etc/x"],
    }
    for command, argv in cases.items():
        assert module.first_command(command)[2:] == argv, command
        if shutil.which("sh"):  # and the shell agrees
            probe = tmp_path / "argv"
            stub = tmp_path / "bin" / "sudo"
            stub.parent.mkdir(exist_ok=True)
            stub.write_text('#!/bin/sh\nshift\nprintf "%s\\0" "$@" > "$PROBE"\n')
            stub.chmod(0o755)
            subprocess.run(["sh", "-c", command], capture_output=True, cwd=tmp_path,
                           env={"PATH": f"{stub.parent}:/usr/bin:/bin", "PROBE": str(probe)})
            assert probe.read_text().split("\0")[:-1] == argv, command
    with pytest.raises(module.SudoersError):
        module.rule(["/usr/bin/x", "a\\b"])
    assert module.rule(["/usr/bin/x"]) == '/usr/bin/x ""'
    assert module.rule(["x", "a=b,c:d"]) == "/usr/bin/x a\\=b\\,c\\:d"
    assert shlex.split(module.rule(["x", "--no-pager"]))[1] == "--no-pager"


def test_real_sudo_allows_exactly_the_verification_count(generated: str,
                                                          tmp_path: Path) -> None:
    """After an action segbot counts new cores with this command line; a refused count was
    once read as zero new crashes, so sudoers must allow it and nothing near it."""
    need_root_namespace()
    since = str(int(datetime(2026, 11, 26, 5, 7, 9, tzinfo=UTC).timestamp()))
    count = crash_count_command("/opt/checkout/bin/checkout-api", since)
    table = crash_count_command("/opt/checkout/bin/checkout-api", since, precise=False)
    allowed = [f"sudo -n {count}", f"sudo -n {table}"]
    refused = [
        f"sudo -n {crash_count_command('/usr/sbin/pgbouncer', since)}",  # no verified action
        f"sudo -n {crash_count_command('/usr/bin/sudo', since)}",
        f"sudo -n {crash_count_command('/opt/checkout/bin/checkout-api', 'yesterday')}",
        f"sudo -n {count} extra",
        f"sudo -n {count.replace('list', 'debug')}",
        f"sudo -n {count.replace('--json=short', '--json=pretty')}",
        "sudo -n coredumpctl --no-pager --no-legend list --since=@1 "
        "/opt/checkout/bin/checkout-api --output=/etc/x",
    ]
    verdicts = sudo_verdicts(tmp_path, generated, allowed + refused)
    assert verdicts == ["allowed"] * len(allowed) + ["refused"] * len(refused), list(
        zip(allowed + refused, verdicts, strict=True))


def test_real_sudo_extracts_and_reads_only_the_configured_binarys_cores(
        generated: str, tmp_path: Path) -> None:
    """coredumpctl dump|info name the service's binary (COREDUMP_EXE=): any other program's
    core (a pid alone, another executable) is refused by sudo itself."""
    need_root_namespace()
    refused = ["sudo -n coredumpctl --no-pager dump 4242 >/dev/null",
               "sudo -n coredumpctl --no-pager info 4242",
               "sudo -n coredumpctl --no-pager dump 4242 COREDUMP_EXE=/usr/sbin/sshd >/dev/null",
               "sudo -n coredumpctl --no-pager info 4242 COREDUMP_EXE=/usr/sbin/sshd",
               "sudo -n coredumpctl --no-pager dump 4242 COREDUMP_EXE=/opt/checkout/bin/"
               "checkout-api --output=/etc/passwd",
               "sudo -n coredumpctl --no-pager dump sshd"]
    allowed = ["sudo -n coredumpctl --no-pager dump 4242 "
               "COREDUMP_EXE=/opt/checkout/bin/checkout-api >/dev/null",
               "sudo -n coredumpctl --no-pager info 4242 COREDUMP_EXE=/usr/sbin/pgbouncer"]
    verdicts = sudo_verdicts(tmp_path, generated, refused + allowed)
    assert verdicts == ["refused"] * len(refused) + ["allowed"] * len(allowed), verdicts
