"""The daily digest tells, for each new incident, whether its signature is new in the running
version or a regression seen in an earlier one (change history + stored crashes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.slack.blocks import digest_message
from bot.adapters.store import open_store
from bot.adapters.store.change_store import SqlChangeStore
from bot.adapters.store.schedule_store import SqlScheduleStore
from bot.app.change_context import ChangeContext
from bot.app.digest import DigestView, run_digest
from bot.app.incidents import change_status, ingest
from bot.domain.alerts import Occurrence
from bot.domain.changes import ChangeEvent, checked_event
from bot.domain.incident import Status

NOW = datetime(2026, 1, 22, 9, 0, tzinfo=UTC)


class Digests:
    def __init__(self) -> None:
        self.posted: list[DigestView] = []

    def post_digest(self, channel: str, view: DigestView) -> str:
        self.posted.append(view)
        return "1.0"


def _crash(store: object, key: str, signature: str, version: str, at: datetime) -> None:
    ingest(store=store, requests=[[Occurrence(  # type: ignore[arg-type]
        source="generic", key=key, host="node-17", service="checkout-api", status="firing",
        time=at, signal="SIGSEGV", signature=signature, version=version)]],
        now=at, window=timedelta(minutes=15))


def test_digest_says_new_or_seen_before(database_url: str) -> None:
    store = open_store(database_url)
    changes = SqlChangeStore(store.engine)
    try:
        changes.add_changes([checked_event(ChangeEvent(
            service="checkout-api", kind="deploy", time=NOW - timedelta(days=d),
            source="generic", version=v)) for v, d in (
                ("2.17.8", 30), ("2.17.9", 20), ("2.18.6", 10), ("2.18.7", 0.5))], NOW)
        _crash(store, "old", "SIGSEGV price_v4", "2.17.9", NOW - timedelta(days=19))
        change_status(store=store, incident_id=1, status=Status.RESOLVED, actor="U0A",
                      now=NOW - timedelta(days=18))
        _crash(store, "again", "SIGSEGV price_v4", "2.18.7", NOW - timedelta(hours=2))
        _crash(store, "fresh", "SIGBUS parse_header", "2.18.7", NOW - timedelta(hours=1))
        context = ChangeContext(store=store, changes=changes, git=None, sources={})
        digests = Digests()
        view = run_digest(store=store, schedule=SqlScheduleStore(store.engine),
                          announcer=digests, channel="C0DIGEST",  # type: ignore[arg-type]
                          now=NOW, history=context.history)
        assert view is not None and [i.id for i in view.new] == [2, 3]
        history = dict(view.history)
        assert history[2].startswith("seen before in 2.17.9: not new in 2.18.7")
        assert history[3].startswith("new in 2.18.7")
        assert history[3].endswith("the last version without it is 2.18.6")
        blocks, _ = digest_message(view)
        new = blocks[1]["text"]["text"]
        assert "#2 checkout-api `SIGSEGV price_v4`" in new and "seen before in 2.17.9" in new
    finally:
        store.engine.dispose()


class Broken:
    def changes(self, service: str, **_: object) -> list[ChangeEvent]:
        raise RuntimeError("disk on fire")


def test_a_failing_change_history_never_holds_the_report_back(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'segbot.db'}")
    try:
        _crash(store, "c1", "SIGSEGV price_v4", "2.18.7", NOW)
        context = ChangeContext(store=store, changes=Broken(), git=None,  # type: ignore[arg-type]
                                sources={})
        assert context.findings(store.list_incidents()[0], None, NOW) is None
    finally:
        store.engine.dispose()
