"""The production host side on a real host from the lab: the sudoers file deploy/host/sudoers.py
writes for it (not the lab's permissive one) and the restart-delay helper installed, then the
whole playbook over SSH must still succeed, containment must work through sudo, and everything
else must be refused by the host's own sudo. Needs root and the lab (skipped without)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.ssh import SshRunner
from bot.cli import main
from bot.config import Config, Target, load_config, load_playbook_file
from bot.errors import SegbotError
from tests.lab.factory import HostFactory
from tests.lab.host import LabHost
from tests.support.deploy_files import DEPLOY, sudoers_module

pytestmark = pytest.mark.lab
HELPER = "/usr/local/libexec/segbot/restart-delay"


def _config(tmp_path: Path, host: LabHost) -> Path:
    entry: dict[str, Any] = host.ssh_config_entry()
    text = "\n".join([
        "defaults:", f"  evidence_dir: {tmp_path / 'evidence'}", "  run_timeout: 120",
        "hosts:", f"  {host.name}: {json.dumps(entry)}",
        "services:", "  checkout-api:", "    unit: checkout-api.service",
        "    binary: /opt/checkout/bin/checkout-api", f"    hosts: [{host.name}]",
        "    actions: {restart_delay: {seconds: 30}}", ""])
    path = tmp_path / "segbot.yaml"
    path.write_text(text)
    return path


def _install(host: LabHost, config: Config) -> str:
    text: str = sudoers_module().sudoers(config, load_playbook_file(None, config), host=host.name)
    host.run(["sh", "-c", "cat > /etc/sudoers.d/segbot.new && chmod 0440 /etc/sudoers.d/segbot.new"
              " && visudo -c -q -f /etc/sudoers.d/segbot.new"
              " && mv /etc/sudoers.d/segbot.new /etc/sudoers.d/segbot && visudo -c -q"],
             input=text, check=True)
    host.run(["sh", "-c", f"mkdir -p {HELPER.rsplit('/', 1)[0]} && cat > {HELPER}"
              f" && chmod 0755 {HELPER}"], input=(DEPLOY / "host" / "restart-delay").read_text(),
             check=True)
    return text


def _show(host: LabHost, prop: str) -> str:
    out: str = host.run(["systemctl", "show", "-p", prop, "--value", "checkout-api.service"],
                        check=True).stdout.strip()
    return out


def test_playbook_and_containment_under_the_production_sudoers(
        lab_host_factory: HostFactory, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    host = lab_host_factory("deploy-sudo")
    path = _config(tmp_path, host)
    config = load_config(path)
    installed = _install(host, config)
    assert host.run(["cat", "/etc/sudoers.d/segbot"], check=True).stdout == installed
    host.wait_for_crashes(1)

    with pytest.raises(SystemExit) as exit_info:
        main(["diagnose", "--config", str(path), "--json", host.name, "checkout-api"])
    out, err = capsys.readouterr()
    assert exit_info.value.code == 0, err
    data = json.loads(out)
    status = {s["id"]: s for s in data["steps"]}
    playbook = load_playbook_file(None, config)
    privileged = [s.id for s in playbook.steps if s.sudo]
    not_ok = {i: (status[i]["status"], status[i].get("reason")) for i in privileged
              if status[i]["status"] != "ok"}
    assert not not_ok, f"privileged steps failed under the production sudoers: {not_ok}"
    for step in ("fetch_core", "fetch_binary"):
        assert status[step]["status"] == "ok", status[step]

    runner = SshRunner(Target(name=host.name, address=host.address, port=host.port,
                              user=host.user, identity_file=host.identity_file,
                              known_hosts=host.known_hosts, sudo=True))
    try:
        def run(command: str) -> int | None:
            return runner.run(command, timeout=30).exit_status

        before = _show(host, "RestartUSec")
        assert run(f"sudo -n {HELPER} set checkout-api.service 30") == 0
        assert run("sudo -n systemctl daemon-reload") == 0
        assert _show(host, "RestartUSec") == "30s"
        assert run("sudo -n systemctl reset-failed checkout-api.service") == 0
        assert run("sudo -n systemctl restart checkout-api.service") == 0
        assert _show(host, "ActiveState") in {"active", "activating"}

        for refused in ("sudo -n cat /etc/shadow", "sudo -n systemctl restart ssh.service",
                        "sudo -n systemctl stop checkout-api.service", "sudo -n -s true",
                        f"sudo -n {HELPER} set ssh.service 30",
                        "sudo -n journalctl --no-pager -u ssh.service -n 1",
                        "sudo -n coredumpctl --no-pager debug"):
            assert run(refused) not in (0, None), refused
        assert run("cat /etc/shadow") != 0  # and segbot itself is an ordinary user

        listing = runner.run("sudo -n -l", timeout=30).stdout
        assert "(root) NOEXEC: NOPASSWD: /usr/bin/coredumpctl" in listing
        assert "EXEC: /usr/bin/systemctl daemon-reload" in listing
        # NOEXEC really stops a child program under this sudo (a probe rule, then removed)
        host.run(["sh", "-c", "echo 'segbot ALL=(root) NOPASSWD: NOEXEC: /usr/bin/env' "
                  "> /etc/sudoers.d/zz-probe && chmod 0440 /etc/sudoers.d/zz-probe"], check=True)
        probe = runner.run("sudo -n env /usr/bin/id -u", timeout=30)
        host.run(["rm", "-f", "/etc/sudoers.d/zz-probe"], check=True)
        assert probe.exit_status != 0 and "0" not in probe.stdout.split(), probe

        assert run(f"sudo -n {HELPER} clear checkout-api.service") == 0
        assert run("sudo -n systemctl daemon-reload") == 0
        assert _show(host, "RestartUSec") == before
    finally:
        runner.close()


def _public_key(identity_file: Path) -> str:
    import paramiko

    key = paramiko.Ed25519Key.from_private_key_file(str(identity_file))
    return f"{key.get_name()} {key.get_base64()} segbot@test"


def test_create_segbot_user_restricts_the_key(lab_host_factory: HostFactory,
                                              tmp_path: Path) -> None:
    """create-segbot-user.sh on a real host: the key works from the bot's address only, with no
    pty and no forwarding, and the sudoers file it installs is the one segbot gets."""
    import paramiko

    host = lab_host_factory("deploy-user")
    config = load_config(_config(tmp_path, host))
    sudoers = sudoers_module().sudoers(config, load_playbook_file(None, config), host=host.name)
    for name, text in [("create-segbot-user.sh", None), ("restart-delay", None),
                       ("segbot.sudoers", sudoers)]:
        body = text if text is not None else (DEPLOY / "host" / name).read_text()
        host.run(["sh", "-c", f"mkdir -p /root/segbot-host && cat > /root/segbot-host/{name}"],
                 input=body, check=True)
    bot_ip = host.address.rsplit(".", 1)[0] + ".1"  # this machine's end of the host's link
    key = _public_key(host.identity_file)
    script = ["sh", "/root/segbot-host/create-segbot-user.sh"]
    done = host.run([*script, bot_ip, key, "/root/segbot-host/segbot.sudoers"])
    assert done.returncode == 0, done.stderr
    keys = host.run(["sh", "-c", "stat -c '%U %a' ~segbot/.ssh/authorized_keys; "
                     "cat ~segbot/.ssh/authorized_keys"], check=True).stdout.splitlines()
    assert keys == ["root 640", f'restrict,from="{bot_ip}" {key}']
    assert host.run(["test", "-x", HELPER]).returncode == 0
    for bad in (["10.0.0.1 x", key], [bot_ip, "not a key"], [bot_ip, key + "\nssh-rsa AAAAB"]):
        assert host.run([*script, *bad]).returncode == 2, bad

    target = Target(name=host.name, address=host.address, port=host.port, user=host.user,
                    identity_file=host.identity_file, known_hosts=host.known_hosts, sudo=True)
    runner = SshRunner(target)
    try:
        assert runner.run("id -un", timeout=20).stdout.strip() == "segbot"
        assert runner.run("sudo -n systemctl daemon-reload", timeout=20).exit_status == 0
        transport = runner.connect()
        channel = transport.open_session()
        with pytest.raises(paramiko.SSHException):
            channel.get_pty()  # restrict: no pty
        channel.close()
        with pytest.raises(paramiko.ChannelException):
            transport.open_channel("direct-tcpip", ("127.0.0.1", 22), ("127.0.0.1", 40000))
    finally:
        runner.close()

    elsewhere = "192.0.2.7"  # TEST-NET-1: the key is now valid only from there
    assert host.run([*script, elsewhere, key]).returncode == 0
    runner = SshRunner(target)
    try:
        with pytest.raises(SegbotError):
            runner.run("id -un", timeout=20)
    finally:
        runner.close()
