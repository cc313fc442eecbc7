"""rollback and disable_flag end to end from the report's own buttons: a real segbot serving
Slack (the emulator), the playbook run with recorded crash outputs (tests/slack harness), the
deploy/flag service a local HTTP server. One effect per button whatever is clicked, by whom,
how often, or how late; an optional second approver who is never the requester."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app.diagnosis_feed import DiagnosisSetup
from tests.actions.slack_clicks import answers, click, notices, report
from tests.support.effect_server import EffectServer, effect_server
from tests.support.slack_emulator import running_emulator
from tests.support.slack_harness import LocalRunner, Running, buttons, running_bot

SETUP = tuple[DiagnosisSetup, LocalRunner, Path]


def _config(binary: Path, evidence: Path, url: str, **rollback: Any) -> dict[str, Any]:
    oncall = ["S0ONCALL"]
    return {
        "defaults": {"evidence_dir": str(evidence), "run_timeout": 60},
        "hosts": {"node-17": {"address": "127.0.0.1"}},
        "services": {"checkout-api": {
            "unit": "checkout-api.service", "binary": str(binary), "hosts": ["node-17"],
            "actions": {
                "rollback": {"url": url + "/deploys/{service}/rollback",
                             "body": {"service": "{service}", "from": "{version}",
                                      "incident": "{incident}"}, **rollback},
                "disable_flag": {"method": "PATCH", "url": url + "/flags/{flag}/off",
                                 "read": {"url": url + "/flags/{flag}"}},
                "verify": {"after_minutes": 0.01, "count_on_hosts": False}}}},
        "slack": {"oncall_usergroup": "S0ONCALL", "report_min_interval_seconds": 0.25,
                  "report_global_interval_seconds": 0.05, "poll_seconds": 0.2},
        "schedule": {"verify_seconds": 0.5},  # the scheduler runs the verifications
        "authorization": {"rollback": oncall, "disable_flag": oncall, "resolve": oncall,
                          "diagnose": ["U0ALICE"]},
    }


@pytest.fixture
def served(local_setup: SETUP, tmp_path: Path,
           request: pytest.FixtureRequest) -> Iterator[tuple[Running, EffectServer]]:
    setup, _, binary = local_setup
    extra = getattr(request, "param", {})
    with effect_server() as server, running_emulator() as emulator:
        settings = _config(binary, tmp_path / "evidence", server.url,
                           **extra.get("rollback", {}))
        settings["slack"].update(extra.get("slack", {}))
        with running_bot(tmp_path, settings, diagnosis=setup, emulator=emulator,
                         usergroups={"S0ONCALL": ["U0BOB", "U0CAROL"]}) as bot:
            bot.slash("node-17 checkout-api")
            emulator.wait_for(lambda: any(f["completed"] for f in emulator.files.values()), 30)
            assert bot.runtime.flows.updater.idle(10)
            yield bot, server


def test_rollback_and_flag_from_the_report(served: tuple[Running, EffectServer]) -> None:
    bot, server = served
    offered = buttons(report(bot)[2])
    assert {"rollback", "disable_flag"} <= set(offered), sorted(offered)
    bot.emulator.wait_for(lambda: "is true" in str(buttons(report(bot)[2])["disable_flag"]), 20)
    confirm = buttons(report(bot)[2])
    assert "running 2.18.7" in confirm["rollback"]["confirm"]["text"]["text"]
    assert "flag pricing_v4 is true" in confirm["disable_flag"]["confirm"]["text"]["text"]

    click(bot, "rollback", "U0MALLORY")  # not authorized: nothing happens
    assert "Not allowed" in answers(bot, "U0MALLORY")[-1]
    assert [r for r in server.requests if r.method != "GET"] == []

    threads = [threading.Thread(target=click, args=(bot, "rollback", user), kwargs={
        "wait": False}) for user in ("U0BOB", "U0CAROL", "U0BOB")]  # a double click, a colleague
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    bot.emulator.wait_for(lambda: len(answers(bot, "U0BOB") + answers(bot, "U0CAROL")) == 3, 30)
    said = answers(bot, "U0BOB") + answers(bot, "U0CAROL")
    # The losers see "already started" or "already done" depending on when they land; the
    # one who clicked twice is told they did it themselves.
    assert sum(": done —" in a for a in said) == 1, said
    assert sum(" already " in a for a in said) == 2, said
    rollbacks = [r for r in server.requests if r.path.endswith("/rollback")]
    assert len(rollbacks) == 1 and len(server.effects) == 1
    assert rollbacks[0].body == {"service": "checkout-api", "from": "2.18.7", "incident": "1"}
    assert rollbacks[0].headers["idempotency-key"]

    click(bot, "disable_flag", "U0CAROL")
    assert server.flags["pricing_v4"] is False
    bot.emulator.wait_for(lambda: sum(n.startswith("Verification") for n in notices(bot)) == 2)
    assert any("crash-free" in n and "rollback" in n for n in notices(bot)), notices(bot)
    timeline = [e.text for e in bot.store.incident_detail(1).timeline]
    assert sum("crash-free" in t for t in timeline) == 2
    assert bot.emulator.violations == []


@pytest.mark.parametrize("served", [{"slack": {"proposal_ttl_minutes": 0.04}}], indirect=True)
def test_an_expired_button_changes_nothing(served: tuple[Running, EffectServer]) -> None:
    bot, server = served
    button = buttons(report(bot)[2])["rollback"]
    time.sleep(3)  # the proposal lives 2.4 s
    click(bot, "rollback", "U0BOB", button=button)
    assert "expired" in answers(bot, "U0BOB")[-1]
    assert server.requests == [] or all(r.method == "GET" for r in server.requests)


@pytest.mark.parametrize("served", [{"rollback": {"second_approver": True}}], indirect=True)
def test_rollback_waits_for_a_second_approver(served: tuple[Running, EffectServer]) -> None:
    bot, server = served
    first = click(bot, "rollback", "U0BOB")
    assert "waiting for a second approver" in answers(bot, "U0BOB")[-1]
    second = _fresh(bot, first)
    click(bot, "rollback", "U0BOB", button=second)  # the requester cannot approve it
    assert "second approver (not you)" in answers(bot, "U0BOB")[-1]
    assert [r for r in server.requests if r.method != "GET"] == []
    click(bot, "rollback", "U0CAROL", button=_fresh(bot, second))
    assert "done" in answers(bot, "U0CAROL")[-1], answers(bot, "U0CAROL")
    assert len([r for r in server.requests if r.method != "GET"]) == 1
    timeline = [e.text for e in bot.store.incident_detail(1).timeline]
    assert any("second approval by <@U0CAROL>" in t for t in timeline)


def _fresh(bot: Running, old: dict[str, Any]) -> dict[str, Any]:
    """The rollback button that replaced `old` (a new proposal) once the report shows it."""
    bot.emulator.wait_for(lambda: buttons(report(bot)[2]).get("rollback", old)["value"]
                          != old["value"], 10)
    return buttons(report(bot)[2])["rollback"]
