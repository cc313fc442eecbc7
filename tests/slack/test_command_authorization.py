"""Who may do what with /segfault, over real HTTP: opening a diagnosis needs the Re-run
button's rule (or `authorization.diagnose`); an incident's status, notes and postmortem are for
its own channel or for who may diagnose; a refusal never lists the inventory."""

from __future__ import annotations

import time

from bot.app.slash_grammar import parse
from tests.support.slack_harness import LocalRunner, Running


def _answers(bot: Running, user: str) -> list[str]:
    return [e.get("text", "") for e in bot.emulator.ephemeral if e["user"] == user]


def test_diagnosing_a_host_is_authorized_like_the_rerun_button(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, runner = local_bot
    bot.slash("node-17 checkout-api", user="U0MALLORY")
    bot.emulator.wait_for(lambda: any("Not allowed" in a for a in _answers(bot, "U0MALLORY")))
    time.sleep(0.5)  # a diagnosis started anyway would have opened a channel by now
    assert not bot.emulator.channels and not runner.commands
    assert bot.store.incident_detail(1) is None

    bot.slash("node-17 checkout-api", user="U0BOB")  # on call: the rerun rule's group
    bot.emulator.wait_for(lambda: any("opened" in a for a in _answers(bot, "U0BOB")))


def test_incident_verbs_elsewhere_need_the_diagnose_rule(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    bot.slash("node-17 checkout-api")  # Alice may: she is in the rerun rule
    bot.emulator.wait_for(lambda: any("opened" in a for a in _answers(bot, "U0ALICE")))
    for text in ("status 1", "note #1 I was here", "postmortem 1"):
        bot.slash(text, user="U0MALLORY", channel="C0GENERAL")
    bot.emulator.wait_for(lambda: len(_answers(bot, "U0MALLORY")) == 3)
    said = _answers(bot, "U0MALLORY")
    assert all(a.startswith("Not allowed") for a in said), said
    assert not any("checkout-api" in a or "investigating" in a for a in said), said
    detail = bot.store.incident_detail(1)
    assert not any("I was here" in e.text for e in detail.timeline)

    channel = bot.runtime.flows.slack_store.place(1).channel
    bot.slash("status", user="U0MALLORY", channel=channel)  # in the incident's own channel
    bot.emulator.wait_for(lambda: any("investigating" in a for a in _answers(bot, "U0MALLORY")))
    bot.slash("status 1", user="U0ALICE", channel="C0GENERAL")  # may diagnose: may look
    bot.emulator.wait_for(lambda: any("investigating" in a for a in _answers(bot, "U0ALICE")))


def test_refusals_do_not_list_the_inventory() -> None:
    services = {"checkout-api": ("node-17", "node-18"), "payments-db": ("db-01",)}
    for text in ("node-17 billing", "node-99 checkout-api"):
        command = parse(text, services=services)
        reason = getattr(command, "reason", "")
        assert reason and not any(name in reason for name in (
            "payments-db", "db-01", "node-17", "node-18")), reason
