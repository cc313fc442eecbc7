"""The pure parts: the version to roll back to from deploy markers, strict templates, the
action config's checks (unknown placeholders, literal credentials), verdict texts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.config import Config
from bot.config.containment import ServiceActions
from bot.domain.containment import (
    TemplateError,
    can_move,
    expand_env,
    render,
    render_body,
    rollback_version,
    verdict,
)
from bot.domain.evidence import Deploy

T0 = datetime(2026, 1, 22, 3, 0, tzinfo=UTC)


def _deploy(version: str, minutes: int | None) -> Deploy:
    return Deploy(service="checkout-api", version=version,
                  time=None if minutes is None else T0 + timedelta(minutes=minutes))


def test_rollback_version_is_the_one_before_the_crashing_one() -> None:
    facts = [_deploy("2.18.7", 30), _deploy("2.18.5", 0), _deploy("2.18.6", 10),
             _deploy("2.18.7", 40)]
    assert rollback_version(facts, "2.18.7") == "2.18.6"
    assert rollback_version(facts, "2.18.6") == "2.18.5"
    assert rollback_version(facts, None) == "2.18.6"
    assert rollback_version(facts, "2.18.5") is None
    assert rollback_version(facts, "9.9.9") is None
    assert rollback_version([_deploy("2.18.7", 5)], "2.18.7") is None


def test_templates_are_strict() -> None:
    values = {"service": "checkout-api", "version": "2.18.7"}
    assert render("/deploys/{service}/{version}", values) == "/deploys/checkout-api/2.18.7"
    with pytest.raises(TemplateError, match="to_version"):
        render("{to_version}", values)
    assert render("Bearer ${TOKEN} {service}", values) == "Bearer ${TOKEN} checkout-api"
    assert expand_env("Bearer ${TOKEN}", {"TOKEN": "a{b}"}) == "Bearer a{b}"
    with pytest.raises(TemplateError, match="TOKEN is not set"):
        expand_env("${TOKEN}", {})
    body = render_body({"ref": "main", "inputs": {"version": "{version}", "n": 3}}, values)
    assert body == {"ref": "main", "inputs": {"version": "2.18.7", "n": 3}}
    assert render("x {service} y", {"service": "a'b; rm"}, quote=lambda v: f"<{v}>") == \
        "x <a'b; rm> y"


def test_action_config_refuses_unknown_placeholders_and_literal_credentials() -> None:
    ok = ServiceActions.model_validate({"rollback": {
        "url": "https://deploy.example/{service}", "headers": {
            "Authorization": "Bearer ${DEPLOY_TOKEN}"}, "body": {"v": "{to_version}"}}})
    assert "rollback" in ok and ok.executable("rollback") and list(ok) == ["rollback"]
    for bad, why in [
        ({"rollback": {"url": "https://x/{servcie}"}}, "unknown placeholder"),
        ({"rollback": {"url": "https://x", "headers": {"Authorization": "Bearer abcdef123456"}}},
         "environment"),
        ({"rollback": {"url": "https://x", "headers": {"X-Api-Key": "k"}}}, "environment"),
        ({"rollback": {"url": "https://x", "command": "true"}}, "exactly one"),
        ({"rollback": {"command": "deploy {nope}"}}, "unknown placeholder"),
        ({"restart_delay": {"seconds": 0}}, "greater than"),
        ({"disable_flag": {"url": "ftp://x"}}, "http"),
    ]:
        with pytest.raises(ValidationError, match=why):
            ServiceActions.model_validate(bad)
    assert not ServiceActions.model_validate({"disable_flag": {"flag": "f"}}).executable(
        "disable_flag")  # no url: shown as not configured


def test_the_example_forms_load() -> None:
    Config.model_validate({"hosts": {}, "services": {"checkout-api": {
        "unit": "checkout-api.service", "binary": "/opt/checkout/bin/checkout-api",
        "hosts": [], "actions": {
            "rollback": {"command": "sudo -n /usr/local/sbin/release-switch {to_version}"},
            "restart_delay": {"seconds": 30}, "preserve_core": {}}}}})


def test_states_and_verdicts() -> None:
    assert can_move("executing", "unknown") and not can_move("unknown", "executing")
    assert not can_move("succeeded", "failed")
    assert verdict(action="rollback", count=0, seconds=900) == \
        "crash-free for 15 minutes since the rollback"
    assert verdict(action="rollback", count=3, seconds=60) == "still crashing: 3 since the rollback"
