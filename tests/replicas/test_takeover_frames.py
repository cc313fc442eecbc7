"""The report another replica rebuilds from the store shows the frames the diagnosing replica
symbolized (function, file:line) from the binary it copied off the host, which stays on that
replica: the same frames and signature before and after the takeover."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.slack.runtime import SlackRuntime
from bot.adapters.store import SqlStore, open_store
from bot.app.incidents import ingest
from bot.config import config_from
from bot.domain.alerts import Occurrence
from bot.domain.decode import decode_text
from bot.domain.evidence import Frame
from bot.domain.incident import DiagnosisRequest
from bot.domain.stored_frames import stored_frames, with_stored_frames
from bot.wiring.serve import slack_runtime
from tests.fleet.fleet import SERVICE, running_fleet, specs
from tests.support.slack_emulator import SlackEmulator
from tests.support.slack_harness import BOT_TOKEN, SECRET


@pytest.fixture
def store(postgres_url: str) -> Iterator[SqlStore]:
    store = open_store(postgres_url)
    yield store
    store.engine.dispose()


def _replica(store: SqlStore, emulator: SlackEmulator, config: dict[str, Any],
             evidence: Path) -> SlackRuntime:
    config = {**config, "defaults": {**config["defaults"], "evidence_dir": str(evidence)}}
    environ = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET,
               "SEGBOT_SLACK_API_URL": emulator.url, "SEGBOT_LEASE_SECONDS": "30"}
    runtime = slack_runtime(store=store, config=config_from(config), environ=environ)
    assert runtime is not None
    return runtime


def _frames(runtime: SlackRuntime, incident: int) -> list[tuple[Frame, ...]]:
    report, _host, _progress, _files = runtime.flows.book.snapshot(incident)
    assert report is not None
    return [crash.frames for crash in report.crashes]


def test_a_takeover_report_has_the_symbolized_frames_of_the_original(
        store: SqlStore, emulator: SlackEmulator, tmp_path: Path) -> None:
    with running_fleet(specs(1), tmp_path / "fleet") as fleet:
        config = json.loads(fleet.config_text())
        host = fleet.specs[0].name
        now = datetime.now(UTC)
        crash = Occurrence(source="generic", key="a-1", host=host, service=SERVICE,
                           status="firing", time=now, signal="SIGSEGV")
        incident = ingest(store=store, requests=[[crash]], now=now,
                          window=timedelta(minutes=15)).results[0].incidents[0]
        a = _replica(store, emulator, config, tmp_path / "a")
        a.flows._diagnose(DiagnosisRequest(incident, host, SERVICE))  # here, not in the pool
    original = _frames(a, incident)
    named = [f for frames in original for f in frames if f.function and f.file and f.line]
    assert any(f.function == "price_v4" for f in named), original  # symbolized on A
    b = _replica(store, emulator, config, tmp_path / "b")  # never saw A's copy of the binary
    b.flows._restore(b.flows.incident(incident))  # type: ignore[arg-type]
    assert _frames(b, incident) == original
    assert b.flows.book.snapshot(incident)[0].signature == (  # type: ignore[union-attr]
        a.flows.book.snapshot(incident)[0].signature)  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["", "null", "[]", '{"crashes": 3}', '{"crashes": [1, {}]}',
                                  '{"crashes": [{"frames": [{"index": "x"}, 7]}]}', "{" * 5000])
def test_odd_stored_reports_are_read_as_no_frames(text: str) -> None:
    assert stored_frames(text) == {}


def test_stored_frames_need_a_matching_crash() -> None:
    report = decode_text("no crash here", now=datetime.now(UTC))
    assert with_stored_frames(report, '{"crashes": [{"pid": 1, "frames": [{"index": 0}]}]}'
                              ) is report
