"""The Slack store on SQLite and PostgreSQL: its migration matches its tables, one place per
incident, and a proposal is claimed by exactly one of many simultaneous clicks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import bot.adapters.store.slack_tables  # noqa: F401  (registers the tables)
from bot.adapters.store import SqlStore, open_store
from bot.adapters.store.engine import MIGRATIONS
from bot.adapters.store.slack_store import SqlSlackStore
from bot.app.incidents import ingest
from bot.app.ports.slack import Place, Proposal
from bot.domain.alerts import Occurrence

NOW = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


@pytest.fixture
def stores(database_url: str) -> Iterator[tuple[SqlStore, SqlSlackStore, int]]:
    store = open_store(database_url)
    occurrence = Occurrence(source="manual", key=None, host="node-17", service="checkout-api",
                            status="firing", time=NOW)
    outcome = ingest(store=store, requests=[[occurrence]], now=NOW, window=timedelta(minutes=5))
    yield store, SqlSlackStore(store.engine), outcome.results[0].incidents[0]
    store.engine.dispose()


def _proposal(incident: int, pid: str = "p-1", ttl: float = 3600) -> Proposal:
    return Proposal(id=pid, incident_id=incident, action="rollback",
                    target={"service": "checkout-api", "version": "2.18.7"}, state="open",
                    created_at=NOW, expires_at=NOW + timedelta(seconds=ttl))


def test_migration_matches_the_tables_and_is_the_head(database_url: str) -> None:
    store = open_store(database_url)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
            heads = ScriptDirectory.from_config(config).get_heads()
            assert len(heads) == 1 and context.get_current_revision() == heads[0]
    finally:
        store.engine.dispose()


def test_one_place_per_incident(stores: tuple[SqlStore, SqlSlackStore, int]) -> None:
    _, slack, incident = stores
    assert slack.add_place(Place(incident, "C1"), NOW)
    assert not slack.add_place(Place(incident, "C2"), NOW)
    slack.set_report_ts(incident, "1700000000.000001")
    assert slack.place(incident) == Place(incident, "C1", True, "1700000000.000001")
    assert slack.place_for_channel("C1") == slack.place(incident)
    assert slack.place_for_channel("C2") is None
    assert slack.place_for_thread("C1", "1700000000.000001") is None  # dedicated: no threads


def test_a_shared_channel_place_is_found_by_its_thread(
    stores: tuple[SqlStore, SqlSlackStore, int]
) -> None:
    _, slack, incident = stores
    assert slack.add_place(Place(incident, "C0OPS", False, "1700000000.000002"), NOW)
    assert slack.place_for_channel("C0OPS") is None
    assert slack.place_for_thread("C0OPS", "1700000000.000002") == slack.place(incident)
    assert slack.place_for_thread("C0OPS", "1700000000.000003") is None


def test_many_clicks_one_claim(stores: tuple[SqlStore, SqlSlackStore, int]) -> None:
    _, slack, incident = stores
    slack.add_proposal(_proposal(incident))
    wins: list[str] = []
    barrier = threading.Barrier(8)

    def click(user: str) -> None:
        barrier.wait()
        if slack.claim_proposal("p-1", by=user, at=NOW):
            wins.append(user)

    threads = [threading.Thread(target=click, args=(f"U{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    claimed = slack.proposal("p-1")
    assert claimed is not None and claimed.state == "executing" and claimed.decided_by == wins[0]
    slack.finish_proposal("p-1", state="done", outcome="rolled back", at=NOW)
    assert not slack.claim_proposal("p-1", by="U9", at=NOW)
    finished = slack.proposal("p-1")
    assert finished is not None and finished.state == "done"
    assert finished.target == {"service": "checkout-api", "version": "2.18.7"}


def test_expired_or_voided_proposals_cannot_be_claimed(
        stores: tuple[SqlStore, SqlSlackStore, int]) -> None:
    _, slack, incident = stores
    slack.add_proposal(_proposal(incident, "old", ttl=60))
    assert not slack.claim_proposal("old", by="U1", at=NOW + timedelta(seconds=61))
    slack.add_proposal(_proposal(incident, "new"))
    assert slack.close_proposals(incident, state="void", at=NOW) == 2
    assert not slack.claim_proposal("new", by="U1", at=NOW)
    assert [p.state for p in slack.proposals(incident)] == ["void", "void"]
