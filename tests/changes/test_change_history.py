"""What change history says about a crash: the release the crashing binary is (by build-id or
sha256), whether its signature is new or a regression, the last version without it, and the
suspect commits; folded into the decoded report so triage and the rollback button use it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.git_history import GitRepository
from bot.adapters.store import open_store
from bot.adapters.store.change_store import SqlChangeStore
from bot.app.changes import ServiceSources, Subject, find_changes
from bot.app.incidents import ingest
from bot.app.proposals import targets
from bot.domain.alerts import Occurrence
from bot.domain.change_history import (
    Sighting,
    identify_binary,
    signature_history,
)
from bot.domain.change_report import with_findings
from bot.domain.changes import ChangeEvent, checked_event
from bot.domain.decode import decode_text
from bot.domain.evidence import Frame
from tests.changes.change_payloads import BUILD_ID
from tests.changes.git_repo import build_repo

ROOT = Path(__file__).resolve().parents[2]
T = datetime(2026, 1, 22, 3, 11, 7, tzinfo=UTC)
OLD_ID = "1111111111111111111111111111111111111111"
SIGNATURE = "SIGSEGV checkout-api+0x184d2"


def deploy(version: str, hours: float, *, build_id: str | None = None, commit: str | None = None,
           by: str = "deploy-bot") -> ChangeEvent:
    return checked_event(ChangeEvent(
        service="checkout-api", kind="deploy", time=T - timedelta(hours=hours),
        source="generic", version=version, commit=commit,
        build_ids=(build_id,) if build_id else (), by=by))


def sighting(version: str | None, build_id: str | None = None) -> Sighting:
    return Sighting(SIGNATURE, version, build_id, T, T, 3)


def test_the_build_id_names_the_release() -> None:
    deploys = [deploy("2.18.6", 30, build_id=OLD_ID, commit="aaaaaaaa"),
               deploy("2.18.7", 0.2, build_id=BUILD_ID, commit="9b7c6fd3e1a2")]
    found = identify_binary(build_ids=[BUILD_ID.upper()], sha256=[], deploys=deploys)
    assert found is not None and found.deploy == deploys[1]
    assert found.describe().startswith(
        "the crashing binary is 2.18.7, deployed 2026-01-22 02:59 UTC by deploy-bot "
        "(commit 9b7c6fd3)")
    drift = identify_binary(build_ids=["2222222222222222"], sha256=[], deploys=deploys)
    assert drift is not None and drift.deploy is None
    assert "shipped by no known deploy: drift or a hand-copied build" in drift.describe()
    blind = identify_binary(build_ids=[BUILD_ID], sha256=[], deploys=[deploy("2.18.7", 1)])
    assert blind is not None and "cannot be tied to a release" in blind.describe()
    by_sum = identify_binary(build_ids=[], sha256=["ab" * 32], deploys=[replace(
        deploys[0], sha256=("ab" * 32,))])
    assert by_sum is not None and by_sum.deploy is not None
    assert identify_binary(build_ids=[], sha256=[], deploys=deploys) is None
    # 2.18.8 went to node-17, which still crashes in 2.18.7's binary: drift, said so
    newer = replace(deploy("2.18.8", 0.1, build_id="4" * 40), hosts=("node-17",))
    stale = identify_binary(build_ids=[BUILD_ID], sha256=[], deploys=[*deploys, newer],
                            host="node-17")
    assert stale is not None and stale.deploy == deploys[1] and stale.newer == newer
    assert stale.describe().endswith("; 2.18.8 was deployed 2026-01-22 03:05 UTC but this "
                                     "host still runs the older binary (drift)")
    elsewhere = identify_binary(build_ids=[BUILD_ID], sha256=[], deploys=[*deploys, newer],
                                host="node-18")
    assert elsewhere is not None and elsewhere.newer is None


def test_new_in_this_version_or_seen_before() -> None:
    deploys = [deploy(v, h) for v, h in (("2.17.8", 90), ("2.17.9", 60), ("2.18.6", 30),
                                         ("2.18.7", 1))]
    new = signature_history(signature=SIGNATURE, current="2.18.7", sightings=[],
                            deploys=deploys)
    assert (new.regression, new.first_version, new.last_without) == (False, "2.18.7", "2.18.6")
    assert new.describe() == ("new in 2.18.7: not seen in any earlier version on record; "
                              "the last version without it is 2.18.6")
    # seen in 2.17.9 (by version) and 2.18.6 (by build-id only): a regression; roll back past
    # every version that showed it
    deploys[2] = replace(deploys[2], build_ids=(OLD_ID,))
    again = signature_history(signature=SIGNATURE, current="2.18.7",
                              sightings=[sighting("2.17.9"), sighting(None, OLD_ID),
                                         replace(sighting("2.16.0"), signature="other")],
                              deploys=deploys)
    assert again.regression and again.seen_in == ("2.17.9", "2.18.6", "2.18.7")
    assert again.describe().startswith("seen before in 2.17.9, 2.18.6: not new in 2.18.7")
    assert (again.first_version, again.last_without) == ("2.17.9", "2.17.8")


def test_findings_from_the_store_fold_into_the_report(database_url: str,
                                                      tmp_path: Path) -> None:
    store = open_store(database_url)
    changes = SqlChangeStore(store.engine)
    repo = build_repo(tmp_path / "repo")
    try:
        changes.add_changes([
            deploy("2.18.5", 72, build_id="3" * 40, commit=repo.commits["release_2_18_6"]),
            deploy("2.18.6", 48, build_id=OLD_ID, commit=repo.commits["release_2_18_6"]),
            deploy("2.18.7", 12.2 / 60, build_id=BUILD_ID, commit=repo.commits["caller"]),
            checked_event(ChangeEvent(service="checkout-api", kind="flag",
                                      time=T - timedelta(minutes=6), source="unleash",
                                      flag="pricing_v4", state="on", by="alice")),
            checked_event(ChangeEvent(service="checkout-api", kind="flag",
                                      time=T + timedelta(minutes=9), source="unleash",
                                      flag="pricing_v4", state="off", by="bob"))], T)
        ingest(store=store, requests=[[Occurrence(
            source="generic", key=f"c{n}", host="node-17", service="checkout-api",
            status="firing", time=T + timedelta(seconds=n), signal="SIGSEGV",
            signature=SIGNATURE, build_id=BUILD_ID) for n in range(3)]],
            now=T, window=timedelta(minutes=15))
        report = decode_text((ROOT / "examples/seed-bundle.txt").read_text())
        crash = report.primary
        assert crash is not None
        frames = (Frame(0, function="price_v4", file="/build/src/checkout_api.c", line=7,
                        thread=crash.frames[0].thread),
                  Frame(1, function="main", file="/build/src/checkout_api.c", line=13,
                        thread=crash.frames[0].thread))
        report = replace(report, crashes=tuple(replace(c, frames=frames) if c is crash else c
                                              for c in report.crashes))
        findings = find_changes(
            store=changes, subject=Subject("checkout-api", SIGNATURE, T), report=report,
            sources=ServiceSources(binary="/opt/checkout/bin/checkout-api",
                                   repo=str(repo.path)),
            git=GitRepository(), now=T + timedelta(minutes=10))
        assert findings is not None
        lines = findings.lines()
        assert lines[0] == (
            "the crashing binary is 2.18.7, deployed 2026-01-22 02:58 UTC by deploy-bot "
            f"(commit {repo.commits['caller'][:8]}): build-id {BUILD_ID[:16]}… matches that "
            "release")
        assert "flag pricing_v4 on by alice at 03:05:07 UTC, 6.0 min before the first crash " \
               "(unleash)" in lines
        assert not any("by bob" in line for line in lines)  # after the first crash
        assert "signature new in 2.18.7: not seen in any earlier version on record; the last " \
               "version without it is 2.18.6" in lines
        assert "roll back to 2.18.6: the last version without this signature" in lines
        assert [c.commit for c in findings.suspects] == [repo.commits["pricing"],
                                                         repo.commits["caller"]]
        assert any(line.startswith("suspect commit 1: ") and "Carol Coder" in line
                   and "price_v4()" in line for line in lines)
        # folded into the report: the deploy by build-id, the flag, the rollback button
        merged = with_findings(report, findings)
        deploys = [c for c in merged.changes if c.kind == "deploy"]
        assert deploys[0].name == "2.18.7" and "build-id matches" in deploys[0].detail
        assert merged.rollback_to == "2.18.6"
        offered = dict((a, t) for a, t in targets(store.list_incidents()[0], merged,
                                                   "node-17") if a == "rollback")
        assert offered["rollback"] == {"service": "checkout-api", "version": "2.18.7",
                                       "to_version": "2.18.6"}
    finally:
        store.engine.dispose()


def test_without_change_events_the_journal_markers_still_decide(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'segbot.db'}")
    try:
        report = decode_text((ROOT / "examples/seed-bundle.txt").read_text())
        assert find_changes(store=SqlChangeStore(store.engine),
                            subject=Subject("checkout-api", SIGNATURE, T), report=report,
                            sources=ServiceSources(), git=None, now=T) is None
        assert [(c.kind, c.name) for c in report.changes] == [
            ("deploy", "2.18.7"), ("feature_flag", "pricing_v4")]
        assert {"disable_flag", "rollback"} <= {r.action for r in report.recommendations}
    finally:
        store.engine.dispose()


def test_an_earlier_incidents_decoded_report_tells_where_the_signature_was_seen(
        database_url: str) -> None:
    from bot.app.incidents import record_report

    store = open_store(database_url)
    changes = SqlChangeStore(store.engine)
    try:
        changes.add_changes([deploy("2.18.5", 72, build_id="5" * 40),
                             deploy("2.18.6", 48, build_id=OLD_ID),
                             deploy("2.18.7", 1, build_id=BUILD_ID)], T)
        ingest(store=store, requests=[[Occurrence(
            source="generic", key="old", host="node-18", service="checkout-api",
            status="firing", time=T - timedelta(hours=40), signal="SIGSEGV",
            signature=SIGNATURE)]], now=T - timedelta(hours=40), window=timedelta(minutes=15))
        record_report(store=store, incident_id=1, host="node-18", now=T - timedelta(hours=40),
                      report_json=json.dumps({"crashes": [{"build_id": OLD_ID}], "facts": [
                          {"kind": "deploy", "version": "2.18.6"}]}))
        record_report(store=store, incident_id=1, host="node-19", now=T, report_json="[1, 2")
        found = changes.sightings("checkout-api")
        assert [(s.signature, s.version, s.build_id) for s in found] == [
            (SIGNATURE, None, None), (SIGNATURE, "2.18.6", OLD_ID)]
        assert changes.sightings("checkout-api") == found  # each report is read once
        history = signature_history(signature=SIGNATURE, current="2.18.7", sightings=found,
                                    deploys=changes.changes("checkout-api"))
        assert history.regression and history.last_without == "2.18.5"
    finally:
        store.engine.dispose()
