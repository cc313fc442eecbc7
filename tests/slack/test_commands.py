"""The rest of /segfault and the buttons, over real HTTP: decode, status, resolve, postmortem,
only the actions segbot can run offered, re-run diagnostics, an expired button, and an
error shown with an id that is in the log."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.diagnosis_feed import DiagnosisSetup
from bot.app.ports.containment import ActionRequest, ActionResult, NoContainment
from tests.slack.bot_config import config
from tests.support.slack_emulator import Channel, running_emulator
from tests.support.slack_harness import LocalRunner, Running, buttons, message_text, running_bot

KERNEL = ("checkout-api[24891]: segfault at 0000000000000038 ip 000055c1b2f9a4d2 sp "
          "00007ffd7b5d1a10 error 4 in checkout-api[55c1b2f82000+3e0000]")


def _answers(bot: Running, user: str) -> list[str]:
    return [e.get("text", "") for e in bot.emulator.ephemeral if e["user"] == user]


def _incident_with_report(bot: Running) -> tuple[str, str, dict[str, object]]:
    bot.slash("node-17 checkout-api")
    bot.emulator.wait_for(lambda: any(f["completed"] for f in bot.emulator.files.values()), 30)
    assert bot.runtime.flows.updater.idle(10)
    return bot.report()


def test_decode_is_ephemeral_and_decoded(local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    assert bot.slash(f"decode {KERNEL}").status_code == 200
    bot.emulator.wait_for(lambda: bot.emulator.ephemeral)
    [answer] = bot.emulator.ephemeral
    assert answer["user"] == "U0ALICE" and "SIGSEGV" in message_text(answer)
    assert "0x38" in message_text(answer)
    assert not bot.emulator.channels and not bot.emulator.messages


def test_status_resolve_and_postmortem(local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    bot.slash("status")
    bot.emulator.wait_for(lambda: _answers(bot, "U0ALICE"))
    assert "not an incident channel" in _answers(bot, "U0ALICE")[0]
    channel, _, _ = _incident_with_report(bot)

    bot.slash("status", channel=channel)
    bot.emulator.wait_for(lambda: any("investigating" in a for a in _answers(bot, "U0ALICE")))
    bot.slash("postmortem 1")
    bot.emulator.wait_for(lambda: any("postmortem" in a for a in _answers(bot, "U0ALICE")))
    bot.slash("commander", channel=channel)
    bot.emulator.wait_for(lambda: any("now the commander" in a for a in _answers(bot, "U0ALICE")))
    bot.emulator.wait_for(lambda: "commander <@U0ALICE>" in message_text(bot.report()[2]), 10)
    bot.slash("commander 1", user="U0CAROL")  # elsewhere: Carol may diagnose, so she may
    bot.emulator.wait_for(lambda: any("(from <@U0ALICE>)" in a for a in _answers(bot, "U0CAROL")))
    bot.slash("status", channel=channel)
    bot.emulator.wait_for(lambda: any("commander <@U0CAROL>" in a
                                      for a in _answers(bot, "U0ALICE")))
    bot.slash("resolve", channel=channel)  # Alice is not on call
    bot.emulator.wait_for(lambda: any("Not allowed" in a for a in _answers(bot, "U0ALICE")))
    bot.slash("resolve 1", user="U0CAROL")
    bot.emulator.wait_for(lambda: any("resolved" in a for a in _answers(bot, "U0CAROL")))
    detail = bot.store.incident_detail(1)
    assert detail.incident.status == "resolved"
    assert [e.actor for e in detail.timeline if e.kind == "status"] == ["U0CAROL"]
    assert [e.text for e in detail.timeline if e.kind == "role"] == ["commander: U0ALICE",
                                                                     "commander: U0CAROL"]
    bot.emulator.wait_for(lambda: not buttons(bot.report()[2]), 10)


def test_only_runnable_actions_are_offered(local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    channel, ts, message = _incident_with_report(bot)
    shown = buttons(message)
    # The report recommends slowing the restart loop, the core, the flag and a rollback, but
    # none is configured: no button that could only be refused, and no proposal behind one.
    assert set(shown) == {"rerun", "resolve"}, sorted(shown)
    assert "not configured" not in message_text(message)
    assert {p.action for p in bot.runtime.flows.slack_store.proposals(1)} == {"rerun", "resolve"}
    bot.click(shown["resolve"], user="U0ALICE", channel=channel, message_ts=ts)
    bot.emulator.wait_for(lambda: _answers(bot, "U0ALICE")[1:])
    # Human words: the action's title, not its config key.
    refusal = _answers(bot, "U0ALICE")[-1]
    assert "not among the people who may *Resolve the incident*" in refusal, refusal
    assert "authorization." not in refusal and "resolve" not in refusal.replace("Resolve", "")
    clicks = [e.text for e in bot.store.incident_detail(1).timeline if e.kind == "click"]
    assert any("U0ALICE" in t and "not among" in t for t in clicks)


def test_a_double_click_tells_the_same_person_they_started_it(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    channel, ts, message = _incident_with_report(bot)
    resolve = buttons(message)["resolve"]
    for _ in range(2):
        bot.click(resolve, user="U0BOB", channel=channel, message_ts=ts)
    bot.emulator.wait_for(lambda: len(_answers(bot, "U0BOB")) == 2)
    said = _answers(bot, "U0BOB")
    assert sum(a.startswith("You already") and "*Resolve*" in a for a in said) == 1, said
    assert not any("<@U0BOB>" in a for a in said), said


def test_rerun_diagnostics_once(local_bot: tuple[Running, LocalRunner]) -> None:
    bot, runner = local_bot
    channel, ts, message = _incident_with_report(bot)
    runs = len(runner.commands)
    rerun = buttons(message)["rerun"]
    for _ in range(3):
        bot.click(rerun, user="U0ALICE", channel=channel, message_ts=ts)
    bot.emulator.wait_for(lambda: len(_answers(bot, "U0ALICE")) >= 4)  # + the slash answer
    texts = _answers(bot, "U0ALICE")
    assert sum("diagnosing again: node-17" in t for t in texts) == 1, texts
    assert sum("already" in t for t in texts) == 2, texts
    # One more playbook run, not three.
    bot.emulator.wait_for(lambda: len(runner.commands) >= 2 * runs, 30)
    time.sleep(1)
    assert len(runner.commands) == 2 * runs
    # A fresh re-run button replaces the used one.
    bot.emulator.wait_for(lambda: buttons(bot.report()[2])["rerun"]["value"] != rerun["value"])


def test_an_expired_button_is_refused_and_replaced(local_bot: tuple[Running, LocalRunner],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    bot, _ = local_bot
    channel, ts, message = _incident_with_report(bot)
    resolve = buttons(message)["resolve"]
    flows = bot.runtime.flows
    later = flows.clock() + timedelta(hours=5)
    monkeypatch.setattr(flows, "clock", lambda: later)
    bot.click(resolve, user="U0BOB", channel=channel, message_ts=ts)
    bot.emulator.wait_for(lambda: any("expired" in a for a in _answers(bot, "U0BOB")))
    assert bot.store.incident_detail(1).incident.status == "investigating"
    bot.emulator.wait_for(lambda: buttons(bot.report()[2])["resolve"]["value"]
                          != resolve["value"], 10)


def test_errors_reach_the_user_with_an_id_that_is_logged(
        local_bot: tuple[Running, LocalRunner], caplog: pytest.LogCaptureFixture) -> None:
    bot, _ = local_bot
    caplog.set_level(logging.ERROR, logger="segbot.slack.errors")
    bot.emulator.fail("conversations.create", status=500, times=10)  # beyond the SDK's retries
    answer = bot.slash("node-17 checkout-api")
    assert answer.status_code == 200  # acked first: Slack never shows a timeout
    bot.emulator.wait_for(lambda: any("error id" in a for a in _answers(bot, "U0ALICE")), 20)
    [shown] = [a for a in _answers(bot, "U0ALICE") if "error id" in a]
    error_id = re.search(r"error id `([0-9a-f]+)`", shown)
    assert error_id is not None and "conversations.create" in shown
    deadline = time.monotonic() + 5
    while error_id.group(1) not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert error_id.group(1) in caplog.text


def test_when_slack_cannot_say_who_is_on_call_the_click_is_denied(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    channel, ts, message = _incident_with_report(bot)
    bot.emulator.fail("usergroups.users.list", status=503, times=10)
    bot.click(buttons(message)["resolve"], user="U0BOB", channel=channel, message_ts=ts)
    bot.emulator.wait_for(lambda: _answers(bot, "U0BOB"), 20)
    assert "could not check who is in user group S0ONCALL" in _answers(bot, "U0BOB")[0]
    assert bot.store.incident_detail(1).incident.status == "investigating"


def test_a_configured_channel_gets_a_thread_per_incident(
        local_setup: tuple[DiagnosisSetup, LocalRunner, Path], tmp_path: Path) -> None:
    setup, _, binary = local_setup
    settings = config(binary, tmp_path / "evidence")
    settings["slack"] = {**settings["slack"], "channel": "C0INCIDENTS"}
    with running_emulator() as emulator:
        emulator.channels["C0INCIDENTS"] = Channel("C0INCIDENTS", "incidents")
        with running_bot(tmp_path, settings, diagnosis=setup, emulator=emulator) as bot:
            bot.slash("node-17 checkout-api")
            emulator.wait_for(lambda: any(f["completed"] for f in emulator.files.values()), 30)
            channel, ts, message = bot.report()
            assert channel == "C0INCIDENTS" and not emulator.called("conversations.create")
            assert emulator.called("conversations.join") and "SIGSEGV" in message_text(message)
            [upload] = [f for f in emulator.files.values() if f["completed"]]
            assert upload["channel"] == "C0INCIDENTS" and upload["thread_ts"] == ts
            assert any("<#C0INCIDENTS>" in a for a in _answers(bot, "U0ALICE"))


class RollbackOnly(NoContainment):
    """The containment port reduced to what this test needs: rollback is configured, and each
    execution is recorded."""

    def __init__(self) -> None:
        self.executed: list[ActionRequest] = []

    def configured(self, action: str, target: Mapping[str, str]) -> bool:
        return action == "rollback"

    def execute(self, request: ActionRequest) -> ActionResult:
        self.executed.append(request)
        time.sleep(0.3)  # a real rollback takes a while: the second click arrives meanwhile
        return ActionResult(True, f"rolled back to the version before {request.target['version']}")


def test_a_configured_action_runs_once_and_its_button_goes(
        local_setup: tuple[DiagnosisSetup, LocalRunner, Path], tmp_path: Path) -> None:
    setup, _, binary = local_setup
    actions = RollbackOnly()
    with running_emulator() as emulator:
        emulator.usergroups["S0ONCALL"] = ["U0BOB"]
        with running_bot(tmp_path, config(binary, tmp_path / "evidence"), diagnosis=setup,
                         emulator=emulator, actions=actions) as bot:
            channel, ts, message = _incident_with_report(bot)
            rollback = buttons(message)["rollback"]
            assert rollback["text"]["text"] == "Roll back 2.18.7"
            assert rollback["confirm"]["style"] == "danger"
            for _ in range(2):
                bot.click(rollback, user="U0BOB", channel=channel, message_ts=ts)
            emulator.wait_for(lambda: len(_answers(bot, "U0BOB")) == 2)
            assert [r.target for r in actions.executed] == [
                {"service": "checkout-api", "version": "2.18.7"}]
            assert actions.executed[0].requested_by == "U0BOB"
            emulator.wait_for(lambda: "rollback" not in buttons(bot.report()[2]), 10)
            assert "rolled back" in message_text(bot.report()[2])


def test_answers_fall_back_to_ephemeral_messages(local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    bot.emulator.fail("response_url", status=404, times=5)
    bot.slash("status 42")
    bot.emulator.wait_for(lambda: _answers(bot, "U0ALICE"))
    [answer] = bot.emulator.called("chat.postEphemeral")
    assert answer.args["channel"] == "C0GENERAL" and "no incident #42" in answer.args["text"]
