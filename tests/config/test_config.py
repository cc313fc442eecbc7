"""The YAML config: defaults, hosts, services, validation errors, SEGBOT_CONFIG, check-config."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Config, checked_name, load_config, parse_config
from bot.errors import ConfigError, UsageError

GOOD = """
defaults:
  user: segbot
  port: 22
  identity_file: /etc/segbot/id_ed25519
  known_hosts: /etc/segbot/known_hosts
hosts:
  node-17: {address: 10.0.3.17, labels: {az: use1-az1, pool: checkout}}
  node-18: {address: node-18.internal, port: 2222, user: ops, labels: {pool: checkout}}
  node-30: {address: "fe80::1", labels: {pool: search}}
services:
  checkout-api:
    unit: checkout-api.service
    binary: /opt/checkout/bin/checkout-api
    hosts: [node-17, node-18]
    actions: {rollback: {command: deploy rollback}}
  search:
    unit: search@1.service
    binary: /opt/search/bin/search
    selector: {pool: search}
slack: {incident_channel_prefix: inc, oncall_usergroup: S0123}
authorization: {rollback: [S0123, U999]}
"""


def test_hosts_inherit_defaults_and_override_them() -> None:
    config = parse_config(GOOD)
    plain, custom = config.target("node-17"), config.target("node-18")
    assert (plain.user, plain.port, str(plain.known_hosts)) == (
        "segbot", 22, "/etc/segbot/known_hosts")
    assert (custom.user, custom.port, custom.address) == ("ops", 2222, "node-18.internal")
    assert config.service_hosts("checkout-api") == ["node-17", "node-18"]
    assert config.service_hosts("search") == ["node-30"]
    assert config.defaults.max_sessions == 8


def test_empty_file_gives_defaults() -> None:
    config = parse_config("")
    assert config.hosts == {} and config.defaults.user == "segbot"


@pytest.mark.parametrize(("patch", "message"), [
    ("hosts:\n  node-1: {address: '-oProxyCommand=touch /tmp/x'}", "hosts.node-1.address"),
    ("hosts:\n  node-1: {address: 'a;b'}", "not a host name"),
    ("hosts:\n  '-bad': {address: 10.0.0.1}", "hosts.-bad"),
    ("hosts:\n  node-1: {address: 10.0.0.1, port: 70000}", "port"),
    ("hosts:\n  node-1: {address: 10.0.0.1, user: 'root;id'}", "user"),
    ("hosts:\n  node-1: {address: 10.0.0.1, colour: red}", "colour"),
    ("services:\n  s: {unit: 'a.service; reboot', binary: /x, hosts: []}", "unit"),
    ("services:\n  s: {unit: a.service, binary: 'x', hosts: []}", "absolute path"),
    ("services:\n  s: {unit: a.service, binary: '/x $(id)', hosts: []}", "binary"),
    ("services:\n  s: {unit: a.service, binary: /x, hosts: [ghost]}", "unknown host 'ghost'"),
    ("services:\n  s: {unit: a.service, binary: /x}", "exactly one of hosts or selector"),
    ("slack: {bot_token: xoxb-1}", "environment"),
    ("defaults: {max_sessions: 0}", "max_sessions"),
    ("hosts: [a, b]", "hosts"),
])
def test_bad_config_is_a_clear_config_error(patch: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("$", r"\$")):
        parse_config(patch, source="test.yaml")


def test_not_yaml_and_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config("hosts: [", source="x")
    with pytest.raises(ConfigError, match="mapping"):
        parse_config("- 1\n- 2", source="x")


def test_path_from_segbot_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "segbot.yaml"
    path.write_text(GOOD)
    monkeypatch.setenv("SEGBOT_CONFIG", str(path))
    assert "node-17" in load_config().hosts
    monkeypatch.delenv("SEGBOT_CONFIG")
    with pytest.raises(ConfigError, match="SEGBOT_CONFIG"):
        load_config()
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("text", [
    "node-17; id", "$(id)", "`id`", "node\n17", "-oProxyCommand=id", "-x", "a b", "", "x" * 80,
])
def test_hostile_names_are_refused(text: str) -> None:
    with pytest.raises(UsageError):
        checked_name(text, "host")


def test_check_config_command(tmp_path: Path) -> None:
    path = tmp_path / "segbot.yaml"
    path.write_text(GOOD)
    runner = CliRunner()
    result = runner.invoke(app, ["check-config", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "ok: 3 hosts, 2 services, playbook 'segfault'" in result.stdout
    path.write_text(GOOD.replace("port: 2222", "port: nope"))
    with pytest.raises(ConfigError, match=r"hosts\.node-18\.port"):
        runner.invoke(app, ["check-config", "--config", str(path)], catch_exceptions=False)


def test_check_config_exit_status_through_main(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    path = tmp_path / "segbot.yaml"
    path.write_text(GOOD.replace("selector: {pool: search}", "selector: {pool: nowhere}"))
    with pytest.raises(SystemExit) as exit_info:
        main(["check-config", "--config", str(path)])
    assert exit_info.value.code == 2
    assert "service 'search' selects no host" in capsys.readouterr().err


@pytest.mark.parametrize(("patch", "message"), [
    ("slack: {command: segfault}", "slack.command"),
    ("slack: {command: '/seg fault'}", "must look like /segfault"),
    ("slack: {private_channels: 'no'}", "slack.private_channels"),
    ("slack: {proposal_ttl_minutes: 0}", "slack.proposal_ttl_minutes"),
    ("slack: {poll_seconds: -1}", "slack.poll_seconds"),
    ("slack: {colour: red}", "slack.colour"),
    ("alerts: {openapi: 'yes'}", "alerts.openapi"),
    ("alerts: {hmac_max_age_seconds: 7200}", "alerts.hmac_max_age_seconds"),
    ("alerts: {group_window_seconds: 0}", "alerts.group_window_seconds"),
    ("alerts: {max_body_bytes: many}", "alerts.max_body_bytes"),
    ("alerts: {host_label: [host]}", "alerts.host_label"),
])
def test_slack_and_alerts_sections_are_checked_when_read(patch: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_config(patch, source="test.yaml")


def test_slack_and_alerts_sections_have_typed_defaults() -> None:
    from datetime import timedelta

    from bot.domain.alerts import LabelRules

    config = parse_config("slack: {app_name: " + "x" * 50 + ", channel: ''}")
    assert config.slack.app_name == "x" * 35 and config.slack.channel is None
    assert config.slack.proposal_ttl == timedelta(hours=4)
    assert config.alerts.window == timedelta(minutes=15)
    assert config.alerts.label_rules == LabelRules()
    narrowed = parse_config("alerts: {host_labels: [node], group_window_seconds: 60}").alerts
    assert narrowed.label_rules.host == ("node",) and narrowed.window == timedelta(minutes=1)


def test_serve_runs_without_a_config_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEGBOT_CONFIG", raising=False)
    assert load_config(required=False) == Config()
    with pytest.raises(ConfigError, match="no configuration"):
        load_config()
