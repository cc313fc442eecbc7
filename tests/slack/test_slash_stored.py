"""A `/segfault` is stored before its ack: one acknowledged by a process that died before
answering it (one replica on SQLite, restarted) is answered by the next process, once, and
what it recorded is recorded once; a store that cannot take the command refuses it in the ack."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bot.adapters.store.slash_store import SqlSlashRequests
from bot.app.diagnosis_feed import DiagnosisSetup
from bot.app.ports.slash import SlashRequest
from tests.slack.bot_config import ONCALL, config
from tests.support.slack_harness import LocalRunner, Running, running_bot


def _answers(bot: Running, host: str) -> list[str]:
    with bot.emulator.lock:
        return [str(c.args.get("text")) for c in bot.emulator.calls
                if c.method == "response_url" and f"Diagnosing {host};" in str(c.args.get("text"))]


def test_a_command_acknowledged_before_a_restart_is_answered_after_it(
        local_setup: tuple[DiagnosisSetup, LocalRunner, Path], tmp_path: Path) -> None:
    setup, _, binary = local_setup
    with running_bot(tmp_path, config(binary, tmp_path / "evidence"), diagnosis=setup,
                     usergroups={"S0ONCALL": ONCALL}) as bot:
        request = SlashRequest(id="acked-then-died", at=datetime.now(UTC), user="U0ALICE",
                               channel="C0GENERAL", text="node-17 checkout-api",
                               response_url=f"{bot.emulator.base}/response/U0ALICE")
        # stored and claimed by the process before this one, which died after its ack
        SqlSlashRequests(bot.store.engine).receive(request, holder="before:1:dead", ttl=600)
        bot.emulator.wait_for(lambda: bool(_answers(bot, "node-17")), 30)
        assert bot.runtime.flows.updater.idle(10)
        bot.runtime.flows.poll()
        assert bot.runtime.intake is not None and bot.runtime.intake.take_over() == 0
        assert len(_answers(bot, "node-17")) == 1
        assert _answers(bot, "node-17")[0].startswith("Incident #1 opened: <#C")
        with bot.store.engine.connect() as connection:
            commands = connection.execute(text(
                "SELECT count(*) FROM timeline_event WHERE kind = 'command'")).scalar()
            lease = connection.execute(text(
                "SELECT holder, token, done FROM work_lease WHERE key = 'slash:acked-then-died'"
            )).one()
        assert commands == 1 and lease[1:] == (2, True) and lease[0] != "before:1:dead"
        assert len(bot.emulator.channels) == 1


def test_a_command_the_store_cannot_take_is_refused_in_its_ack(
        local_setup: tuple[DiagnosisSetup, LocalRunner, Path], tmp_path: Path) -> None:
    setup, _, binary = local_setup
    with running_bot(tmp_path, config(binary, tmp_path / "evidence"), diagnosis=setup,
                     usergroups={"S0ONCALL": ONCALL}) as bot:
        with bot.store.engine.begin() as connection:  # the table is gone: every insert fails
            connection.execute(text("ALTER TABLE slash_request RENAME TO slash_request_away"))
        answer = bot.slash("node-17 checkout-api")
        assert answer.status_code == 200 and "type it again" in answer.json()["text"]
        assert not bot.store.list_incidents()  # nothing done that was not stored
