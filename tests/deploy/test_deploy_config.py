"""deploy/config.example.yaml loads with segbot's own loader and explains every key it has."""

from __future__ import annotations

import re

import yaml
from deploy_helpers import EXAMPLE_CONFIG
from pydantic import BaseModel

from bot.config import Config, Defaults, Host, Service, load_config, parse_config


def test_example_validates_with_the_real_loader() -> None:
    config = load_config(EXAMPLE_CONFIG)
    assert config.service_hosts("checkout-api") == ["node-17", "node-18"]
    assert config.service_hosts("pgbouncer") == ["db-3"]  # by label selector
    target = config.target("node-17")
    assert target.user == "segbot" and str(target.identity_file) == "/etc/segbot/id_ed25519"
    assert config.target("db-3").port == 2222


def _keys(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def test_every_key_of_the_loader_is_in_the_example_with_a_comment() -> None:
    text = EXAMPLE_CONFIG.read_text()
    lines = text.splitlines()
    data = yaml.safe_load(text)
    assert set(data) == _keys(Config)
    assert set(data["defaults"]) == _keys(Defaults)
    hosts_keys = set().union(*(set(h) for h in data["hosts"].values()))
    assert hosts_keys == _keys(Host)
    service_keys = set().union(*(set(s) for s in data["services"].values()))
    assert service_keys == _keys(Service)
    for key in _keys(Config) | _keys(Defaults) | _keys(Host) | _keys(Service):
        at = next(i for i, line in enumerate(lines) if re.match(rf"\s*{key}:", line))
        before = lines[at - 1].strip()
        assert before.startswith("#") or "#" in lines[at], f"{key}: no comment explains it"


def test_example_holds_no_secret_and_the_loader_refuses_one() -> None:
    text = EXAMPLE_CONFIG.read_text()
    assert not re.search(r"xox[abp]-|xapp-", text)
    broken = text.replace("incident_channel_prefix: inc", "bot_token: xoxb-1", 1)
    try:
        parse_config(broken)
    except Exception as error:  # ConfigError: secrets come from the environment
        assert "environment" in str(error)
    else:
        raise AssertionError("a token in the config file was accepted")


def test_slack_keys_are_the_ones_the_slack_app_reads() -> None:
    from bot.config import SlackSection

    data = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    assert set(data["slack"]) == set(SlackSection.model_fields)
    options = load_config(EXAMPLE_CONFIG).slack
    assert options.command == "/segfault" and options.oncall_usergroup == "S0123ABCDEF"


def test_authorization_names_real_actions() -> None:
    from bot.app.proposals import BUILT_IN, CONTAINMENT

    config = load_config(EXAMPLE_CONFIG)
    assert set(config.authorization) == set(CONTAINMENT) | set(BUILT_IN) | {"diagnose"}
    for service in config.services.values():
        assert set(service.actions) <= set(CONTAINMENT)


def test_alerts_section_shows_the_real_defaults() -> None:
    from bot.app.incidents import DEFAULT_WINDOW
    from bot.config import AlertsSection
    from bot.domain.alerts import LabelRules

    section = yaml.safe_load(EXAMPLE_CONFIG.read_text())["alerts"]
    alerts = load_config(EXAMPLE_CONFIG).alerts
    assert alerts == AlertsSection()
    assert alerts.window == DEFAULT_WINDOW and alerts.label_rules == LabelRules()
    assert set(section) == set(AlertsSection.model_fields)
    assert set(section) == {"group_window_seconds", "host_labels", "service_labels",
                            "message_annotations", "max_body_bytes", "openapi",
                            "hmac_max_age_seconds"}
