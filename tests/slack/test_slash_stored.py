"""A `/segfault` is stored before its ack: one acknowledged by a process that died before
answering it (one replica on SQLite, restarted) is answered by the next process, once, and
what it recorded is recorded once; a store that cannot take the command refuses it in the ack;
a pasted secret is stored redacted."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bot.adapters.store.slash_store import SqlSlashRequests
from bot.app.diagnosis_feed import DiagnosisSetup
from bot.app.ports.slash import SlashRequest
from tests.slack.bot_config import ONCALL, config
from tests.support.slack_harness import (
    SECRET_LINE,
    SECRETS,
    LocalRunner,
    Running,
    running_bot,
)

KERNEL_LINE = ("checkout-api[24891]: segfault at 0000000000000038 ip 000055c1b2f9a4d2 sp "
               "00007ffd7b5d1a10 error 4 in checkout-api[55c1b2f82000+3e0000]")


def _answers(bot: Running, host: str) -> list[str]:
    with bot.emulator.lock:
        return [str(c.args.get("text")) for c in bot.emulator.calls
                if c.method == "response_url" and f"Diagnosing {host};" in str(c.args.get("text"))]


def _lease(bot: Running, key: str) -> tuple[str, int, bool]:
    with bot.store.engine.connect() as connection:
        row = connection.execute(text("SELECT holder, token, done FROM work_lease WHERE key = :k"),
                                 {"k": key}).one()
    return str(row[0]), int(row[1]), bool(row[2])


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
        bot.emulator.wait_for(lambda: _lease(bot, "slash:acked-then-died")[2], 30)  # finished
        assert bot.runtime.flows.updater.idle(10)
        bot.runtime.flows.poll()
        assert bot.runtime.intake is not None and bot.runtime.intake.take_over() == 0
        assert len(_answers(bot, "node-17")) == 1
        assert _answers(bot, "node-17")[0].startswith("Incident #1 opened: <#C")
        with bot.store.engine.connect() as connection:
            commands = connection.execute(text(
                "SELECT count(*) FROM timeline_event WHERE kind = 'command'")).scalar()
        lease = _lease(bot, "slash:acked-then-died")
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


def test_a_pasted_secret_is_stored_redacted(
        local_setup: tuple[DiagnosisSetup, LocalRunner, Path], tmp_path: Path) -> None:
    setup, _, binary = local_setup
    with running_bot(tmp_path, config(binary, tmp_path / "evidence"), diagnosis=setup,
                     usergroups={"S0ONCALL": ONCALL}) as bot:
        assert bot.slash(f"decode {KERNEL_LINE}\n{SECRET_LINE}").status_code == 200
        bot.emulator.wait_for(lambda: any(c.method == "response_url"
                                          for c in bot.emulator.calls), 30)
        with bot.store.engine.connect() as connection:
            [stored] = connection.execute(text("SELECT text FROM slash_request")).scalars()
        assert stored.startswith("decode ") and "segfault at" in stored
        assert not [secret for secret in SECRETS if secret in stored], stored
