"""A fake clock drives the real APScheduler through an incident: summaries on schedule and what
they say, one coalesced summary after a pause, the same jobs and no duplicate post after a
restart, reminders, the daily digest, and jobs that follow the store."""

from __future__ import annotations

import json
from datetime import timedelta

from apscheduler.executors.debug import DebugExecutor
from schedule_clock import T0, FakeClock
from slack_emulator import Call, SlackEmulator

from bot.adapters.leader_lock import SoleProcess
from bot.adapters.scheduler import DrivenScheduler, ScheduleDeps, SegbotScheduler
from bot.adapters.slack.client import web_client
from bot.adapters.slack.schedule_chat import SlackAnnouncer
from bot.adapters.store import SqlStore, open_store
from bot.adapters.store.schedule_store import SqlScheduleStore
from bot.adapters.store.slack_store import SqlSlackStore
from bot.app.incidents import change_status, ingest, learn_signature, record_event
from bot.app.ports.slack import Place
from bot.config import Schedule
from bot.domain.alerts import Occurrence
from bot.domain.incident import Incident, Status, TimelineEvent
from bot.errors import StoreError

OPTIONS = Schedule(summary_minutes=15, quiet_minutes=60, reminder_check_minutes=5,
                   dropin_reminder_minutes=30, digest_channels=["C0OPS"], digest_time="05:00",
                   sync_seconds=60)


def _scheduler(store: SqlStore, clock: FakeClock, emulator: SlackEmulator) -> SegbotScheduler:
    deps = ScheduleDeps(store=store, schedule=SqlScheduleStore(store.engine),
                        slack=SqlSlackStore(store.engine),
                        announcer=SlackAnnouncer(web_client("xoxb-emulated",
                                                            api_url=emulator.url)),
                        clock=clock)
    driven = DrivenScheduler(timezone="UTC", executors={"default": DebugExecutor()})
    scheduler = SegbotScheduler(deps=deps, options=OPTIONS, leadership=SoleProcess(),
                                scheduler=driven)
    scheduler.start(background=False)
    return scheduler


def _crashes(store: SqlStore, clock: FakeClock, hosts: list[str], version: str,
             first: int) -> int:
    occurrences = [Occurrence(source="generic", key=f"a-{first + n}", host=host,
                              service="checkout-api", status="firing", time=clock.now,
                              signal="SIGSEGV", version=version)
                   for n, host in enumerate(hosts)]
    outcome = ingest(store=store, requests=[occurrences], now=clock.now,
                     window=timedelta(minutes=30))
    return outcome.results[0].incidents[0]


def _summaries(emulator: SlackEmulator) -> list[dict[str, object]]:
    """Every summary post and edit, in order (what the channel saw)."""
    calls = emulator.called("chat.postMessage") + emulator.called("chat.update")
    calls.sort(key=lambda c: c.at)
    return [c.args for c in calls if "Summary #" in str(c.args.get("blocks"))]


def _posted(emulator: SlackEmulator, words: str) -> list[Call]:
    return [c for c in emulator.called("chat.postMessage") if words in str(c.args.get("text"))]


def _body(args: dict[str, object]) -> str:
    blocks = args["blocks"]
    parsed = json.loads(blocks) if isinstance(blocks, str) else blocks
    assert isinstance(parsed, list)
    return "\n".join(str(b.get("text", {}).get("text", "")) if b["type"] == "section"
                     else json.dumps(b) for b in parsed)


def test_an_incident_is_summarized_on_schedule(database_url: str, clock: FakeClock,
                                               emulator: SlackEmulator) -> None:
    store = open_store(database_url)
    try:
        _scenario(store, clock, emulator)
    finally:
        store.engine.dispose()


def _scenario(store: SqlStore, clock: FakeClock, emulator: SlackEmulator) -> None:
    incident = _crashes(store, clock, ["node-17", "node-18", "node-17"], "2.18.7", 0)
    SqlSlackStore(store.engine).add_place(
        Place(incident, "C0INC1", report_ts="1699999999.000001"), T0)
    scheduler = _scheduler(store, clock, emulator)
    assert scheduler.job_ids() == ["digest:C0OPS", "reminders", f"summary:{incident}", "sync"]

    clock.at(minutes=14)
    scheduler.scheduler.tick()
    assert _summaries(emulator) == []  # the first comes one interval after the opening

    clock.at(minutes=15, seconds=2)
    scheduler.scheduler.tick()
    (first,) = _summaries(emulator)
    assert "Summary #1" in str(first["blocks"])
    assert "*3* new crash(es) since 03:00 UTC" in _body(first)
    assert "node-17 (2.18.7) ×2, node-18 (2.18.7) ×1" in _body(first)
    ts = str(emulator.called("chat.postMessage")[-1].args.get("ts") or
             next(k[1] for k in emulator.messages if k[0] == "C0INC1"))
    assert ("C0INC1", ts) in emulator.pins  # the one summary message, pinned

    clock.at(minutes=20)
    _crashes(store, clock, ["node-19"] * 5, "2.18.8", 10)
    learn_signature(store=store, incident_id=incident, signature="SIGSEGV checkout-api+0x184d2",
                    now=clock.now)
    record_event(store=store, incident_id=incident, event=TimelineEvent(
        T0 + timedelta(minutes=24), "action", "restart delay set to 30s on node-19 (was 200ms)",
        actor="U0ALICE", source="slack"))
    record_event(store=store, incident_id=incident, event=TimelineEvent(
        T0 + timedelta(minutes=29), "verification", "crash-free for 5 minutes since the "
        "restart delay", source="actions"))

    clock.at(minutes=30, seconds=1)
    scheduler.scheduler.tick()
    second = _summaries(emulator)[-1]
    assert len(_summaries(emulator)) == 2 and "Summary #2" in str(second["blocks"])
    assert second["ts"] == ts  # edited in place, not a new message
    text = _body(second)
    assert "*5* new crash(es) since 03:15 UTC (8 in all, on 3 host(s))" in text
    assert "Newly affected: node-19" in text and "2.18.7, 2.18.8" in text
    assert "Signature: `SIGSEGV checkout-api+0x184d2` (learnt)" in text
    assert "03:24 restart delay set to 30s on node-19 (was 200ms) — <@U0ALICE>" in text
    assert "03:29 crash-free for 5 minutes since the restart delay" in text

    # A pause (the process stalled, the host slept): three slots pass unseen, one summary.
    clock.at(minutes=80)
    scheduler.scheduler.tick()
    summaries = _summaries(emulator)
    assert len(summaries) == 3 and "Summary #3" in str(summaries[-1]["blocks"])
    assert "*0* new crash(es) since 03:30 UTC" in _body(summaries[-1])
    assert "Crash-free for 60 minutes (last crash 03:20 UTC)" in _body(summaries[-1])

    # Restart: the same jobs come back from the store; the slot already posted is not again.
    ids = scheduler.job_ids()
    scheduler.stop()
    clock.at(minutes=80, seconds=30)
    restarted = _scheduler(store, clock, emulator)
    assert restarted.job_ids() == ids
    restarted.summary(incident)  # as if the 03:75 slot fired again on the new process
    restarted.scheduler.tick()
    assert len(_summaries(emulator)) == 3

    clock.at(minutes=90, seconds=1)  # quiet for 66 minutes since 03:24's action
    restarted.scheduler.tick()
    assert len(_summaries(emulator)) == 4
    quiet = _posted(emulator, "nothing has happened")
    assert len(quiet) == 1 and "for 66 minutes" in str(quiet[0].args["text"])
    clock.at(minutes=94)
    restarted.scheduler.tick()
    assert len(_posted(emulator, "nothing has happened")) == 1

    # Resolved: its summary job goes at the next sync; the drop-in reminder comes once.
    clock.at(minutes=95)
    change_status(store=store, incident_id=incident, status=Status.RESOLVED, actor="U0ALICE",
                  now=clock.now)
    clock.at(minutes=96, seconds=1)
    restarted.scheduler.tick()
    assert f"summary:{incident}" not in restarted.job_ids()
    for minute in (120, 126, 131, 140):
        clock.at(minutes=minute, seconds=1)
        restarted.scheduler.tick()
    dropin = _posted(emulator, "drop-in is still in place")
    assert len(dropin) == 1 and "restart delay set to 30s on node-19" in str(
        dropin[0].args["text"])
    assert len(_summaries(emulator)) == 4

    clock.at(hours=2, seconds=5)  # 05:00:05 UTC: the daily digest, once
    restarted.scheduler.tick()
    restarted.scheduler.tick()
    digests = [c for c in emulator.called("chat.postMessage") if c.args.get("channel") == "C0OPS"]
    assert len(digests) == 1 and "1 new, 0 regressed, 0 open" in str(digests[0].args["text"])
    assert "`SIGSEGV checkout-api+0x184d2` ×8" in str(digests[0].args["blocks"])
    assert not emulator.violations
    restarted.stop()


def test_action_verifications_run_as_a_scheduled_job(database_url: str, clock: FakeClock,
                                                     emulator: SlackEmulator) -> None:
    """Containment's verify_due (issue 4) runs on the scheduler, on the leader only."""
    store = open_store(database_url)
    try:
        scheduler = _scheduler(store, clock, emulator)
        calls: list[object] = []
        scheduler.deps.verify = lambda: calls.append(clock.now)
        scheduler.sync()
        assert "verify-actions" in scheduler.job_ids()
        for seconds in (3, 6, 7, 20):  # due every 5 s from 03:00:00; missed runs coalesce
            clock.at(seconds=seconds)
            scheduler.scheduler.tick()
        assert calls == [T0 + timedelta(seconds=s) for s in (3, 6, 20)]
        scheduler.stop()
    finally:
        store.engine.dispose()


def test_a_store_outage_at_take_over_leaves_the_sync_job_to_catch_up(
        database_url: str, clock: FakeClock, emulator: SlackEmulator) -> None:
    store = open_store(database_url)
    try:
        deps = ScheduleDeps(store=store, schedule=SqlScheduleStore(store.engine),
                            slack=SqlSlackStore(store.engine),
                            announcer=SlackAnnouncer(web_client("xoxb-emulated",
                                                                api_url=emulator.url)),
                            clock=clock)
        outage = {"on": True}
        real = store.list_incidents

        def flaky(*, limit: int = 200) -> list[Incident]:
            if outage["on"]:
                raise StoreError("database error: connection refused")
            return real(limit=limit)

        store.list_incidents = flaky  # type: ignore[method-assign]
        scheduler = SegbotScheduler(deps=deps, options=OPTIONS, leadership=SoleProcess(),
                                    scheduler=DrivenScheduler(
                                        timezone="UTC", executors={"default": DebugExecutor()}))
        scheduler.start(background=False)
        assert scheduler.leader and scheduler.job_ids() == ["sync"]
        outage["on"] = False
        clock.at(minutes=1, seconds=1)
        scheduler.scheduler.tick()  # the sync job derives the rest once the store answers
        assert scheduler.job_ids() == ["digest:C0OPS", "reminders", "sync"]
        scheduler.stop()
    finally:
        store.engine.dispose()
