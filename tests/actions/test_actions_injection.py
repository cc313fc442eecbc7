"""Values read from a service's logs never become shell text or secrets: a logged version or
flag must be a plain name when parsed and again when an action runs; an SSH command template
gets the playbook's shell checks at load; `${ENV}` in a header comes only from the config's own
template, never from a value (real HTTP to a local server)."""

from __future__ import annotations

from typing import Any

import pytest
from actions_setup import config_with, http_actions
from effect_server import effect_server
from pydantic import ValidationError

from bot.adapters.containment.http_call import call, read_value
from bot.app.ports.containment import ActionRequest
from bot.config.containment import DisableFlag, ServiceActions
from bot.domain.evidence import Deploy, FeatureFlag
from bot.domain.parsers.journal import parse

HOSTILE = 'a";id;"b'
SECRET = "xoxb-not-for-your-eyes"


@pytest.mark.parametrize("command", [
    'release-switch "{to_version}"',
    "release-switch '{to_version}'",
    'sh -c "release-switch {to_version}"',
    "eval release-switch {to_version}",
    "release-switch $({to_version})",
])
def test_an_ssh_rollback_template_gets_the_playbooks_shell_checks(command: str) -> None:
    with pytest.raises(ValidationError, match="unsafe"):
        ServiceActions.model_validate({"rollback": {"command": command}})
    ServiceActions.model_validate({"rollback": {"command": "release-switch {to_version}"}})


def test_a_logged_version_or_flag_that_is_not_a_plain_name_is_not_read() -> None:
    text = (f"Jan 22 03:11:07 node-17 checkout-api[24891]: version={HOSTILE} git=9b7c6fd3 "
            "feature_flags=${SLACK_BOT_TOKEN}:on,pricing_v4:on\n"
            "Jan 22 03:11:08 node-17 checkout-api[24891]: version=2.18.7+build.5\n")
    facts = parse(text).facts
    versions = [f.version for f in facts if isinstance(f, Deploy)]
    flags = [f.name for f in facts if isinstance(f, FeatureFlag)]
    assert HOSTILE not in versions and "2.18.7+build.5" in versions, versions
    assert flags == ["pricing_v4"], flags


@pytest.mark.parametrize("target", [
    {"service": "checkout-api", "version": "2.18.7", "to_version": HOSTILE},
    {"service": "checkout-api", "version": "x" * 65, "to_version": "2.18.6"},
])
def test_an_action_with_a_hostile_version_is_refused_before_anything_is_sent(
        contain: Any, target: dict[str, str]) -> None:
    with effect_server() as server:
        use_case, _, _, incident = contain(config_with(http_actions(server.url, timeout=10)))
        result = use_case.execute(ActionRequest(
            proposal_id="act-hostile", incident_id=incident, action="rollback",
            target=target, requested_by="U0BOB"))
        assert not result.ok and "not a plain name" in result.text, result
        assert server.requests == []


def test_a_flag_named_like_an_environment_variable_stays_text(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The header's own `${FLAG_TOKEN}` is filled; a value `${SLACK_BOT_TOKEN}` is not read,
    neither by the action nor by the preview that runs without a click."""
    environ = {"FLAG_TOKEN": "flag-secret-456", "SLACK_BOT_TOKEN": SECRET}
    with effect_server() as server:
        spec = DisableFlag.model_validate({
            "url": server.url + "/flags/{flag}/off",
            "headers": {"Authorization": "${FLAG_TOKEN}", "X-Flag": "{flag}"},
            "read": {"url": server.url + "/flags/{flag}",
                     "headers": {"X-Flag": "{flag}"}}})
        values = {"service": "checkout-api", "flag": "${SLACK_BOT_TOKEN}"}
        assert spec.read is not None
        read_value(spec.read, values, environ=environ)
        call(spec, values, environ=environ, action_id="act-env")
        assert len(server.requests) == 2
        for seen in server.requests:
            assert SECRET not in str(seen.headers), seen.headers
            assert seen.headers["x-flag"] == "${SLACK_BOT_TOKEN}"
        assert server.requests[1].headers["authorization"] == "flag-secret-456"


def test_what_the_far_side_answers_is_sent_to_slack_as_text(contain: Any) -> None:
    with effect_server() as server:
        server.reply = {"status": "<!channel> rolled back, see <https://evil.example|runbook>"}
        use_case, _, _, incident = contain(config_with(http_actions(server.url, timeout=10)))
        result = use_case.execute(ActionRequest(
            proposal_id="act-markup", incident_id=incident, action="rollback",
            target={"service": "checkout-api", "version": "2.18.7", "to_version": "2.18.6"},
            requested_by="U0BOB"))
        assert result.ok and "&lt;!channel" in result.text, result
        assert "<!channel>" not in result.text and "<https://" not in result.text
