"""People add to the timeline from Slack: a :pushpin: reaction or a pin on a message in the
incident channel (stamped with the message's own time, once per message), `/segfault note`,
and `/segfault postmortem` uploads the draft, with those lines in it, to the channel."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_emulator import SlackEmulator
from slack_harness import Running, running_bot, signed_headers

from bot.adapters.store.slack_store import SqlSlackStore
from bot.app.incidents import ingest
from bot.app.ports.slack import Place
from bot.domain.alerts import Occurrence

T0 = datetime(2026, 1, 22, 3, 0, 0, tzinfo=UTC)
CONFIG = {"hosts": {"node-17": {"address": "127.0.0.1"}},
          "services": {"checkout-api": {"unit": "checkout-api.service",
                                        "binary": "/opt/checkout/bin/checkout-api",
                                        "hosts": ["node-17"]}},
          "slack": {"poll_seconds": 0.2, "report_min_interval_seconds": 0.2}}
PEOPLE_TS = "1769051400.000200"  # 2026-01-22 03:10:00 UTC
REPORT_TS = "1769050800.000100"  # 03:00:00, segbot's own report


def _event(bot: Running, event: dict[str, Any], event_id: str) -> None:
    body = json.dumps({"token": "unused", "team_id": "T0EMU", "api_app_id": "A0SEGBOT",
                       "type": "event_callback", "event_id": event_id,
                       "event_time": int(time.time()), "event": event})
    headers = {**signed_headers(body), "Content-Type": "application/json"}
    assert bot.http.post(f"{bot.url}/slack/events", content=body,
                         headers=headers).status_code == 200


def _notes(bot: Running, incident: int) -> list[tuple[datetime, str, str]]:
    detail = bot.store.incident_detail(incident)
    return [(e.time, e.text, e.actor) for e in detail.timeline if e.kind == "note"]


def _wait(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)


def test_a_pin_in_an_incident_thread_of_a_shared_channel(tmp_path: Path,
                                                        emulator: SlackEmulator) -> None:
    """In a shared channel only replies in the incident's thread belong to it: a 📌 there is
    captured (Slack's reactions.get says which thread), one elsewhere in the channel is not."""
    with running_bot(tmp_path, CONFIG, emulator=emulator) as bot:
        crash = Occurrence(source="generic", key="s-1", host="node-17", service="checkout-api",
                           status="firing", time=T0, signal="SIGSEGV", version="2.18.7")
        incident = ingest(store=bot.store, requests=[[crash]], now=T0,
                          window=timedelta(minutes=15)).results[0].incidents[0]
        SqlSlackStore(bot.store.engine).add_place(
            Place(incident, "C0OPS", dedicated=False, report_ts=REPORT_TS), T0)
        elsewhere = "1769051460.000400"
        emulator.messages[("C0OPS", PEOPLE_TS)] = {
            "ts": PEOPLE_TS, "thread_ts": REPORT_TS, "text": "flag pricing_v4 off", "edits": 0}
        emulator.messages[("C0OPS", elsewhere)] = {
            "ts": elsewhere, "text": "lunch at noon?", "edits": 0}
        for n, ts in enumerate((elsewhere, PEOPLE_TS)):
            _event(bot, {"type": "reaction_added", "user": "U0BOB", "reaction": "pushpin",
                         "item": {"type": "message", "channel": "C0OPS", "ts": ts},
                         "event_ts": f"176905150{n}.000300"}, f"EvS{n}")
        _wait(lambda: _notes(bot, incident))
        time.sleep(0.5)  # the message outside the thread had its chance
        assert _notes(bot, incident) == [
            (datetime(2026, 1, 22, 3, 10, 0, 200, tzinfo=UTC), "flag pricing_v4 off", "U0BOB")]


def test_pins_reactions_notes_and_the_postmortem_upload(tmp_path: Path,
                                                        emulator: SlackEmulator) -> None:
    with running_bot(tmp_path, CONFIG, emulator=emulator) as bot:
        crash = Occurrence(source="generic", key="a-1", host="node-17", service="checkout-api",
                           status="firing", time=T0, signal="SIGSEGV", version="2.18.7")
        incident = ingest(store=bot.store, requests=[[crash]], now=T0,
                          window=timedelta(minutes=15)).results[0].incidents[0]
        SqlSlackStore(bot.store.engine).add_place(Place(incident, "C0INC1",
                                                        report_ts=REPORT_TS), T0)
        emulator.messages[("C0INC1", PEOPLE_TS)] = {
            "ts": PEOPLE_TS, "text": "rolled back to 2.18.6 on node-17, watching", "edits": 0}
        emulator.messages[("C0INC1", REPORT_TS)] = {"ts": REPORT_TS, "text": "report",
                                                    "edits": 0}

        item = {"type": "message", "channel": "C0INC1", "ts": PEOPLE_TS}
        _event(bot, {"type": "reaction_added", "user": "U0BOB", "reaction": "pushpin",
                     "item": item, "event_ts": "1769051500.000300"}, "Ev1")
        _event(bot, {"type": "reaction_added", "user": "U0CAROL", "reaction": "pushpin",
                     "item": item, "event_ts": "1769051501.000300"}, "Ev2")
        _event(bot, {"type": "pin_added", "user": "U0CAROL", "channel_id": "C0INC1",
                     "item": {"type": "message", "channel": "C0INC1", "message": {
                         "ts": PEOPLE_TS, "text": "rolled back to 2.18.6 on node-17, watching"}},
                     "event_ts": "1769051502.000300"}, "Ev3")
        _event(bot, {"type": "pin_added", "user": "U0CAROL", "channel_id": "C0INC1",
                     "item": {"type": "message", "channel": "C0INC1",
                              "message": {"ts": REPORT_TS, "text": "report"}},
                     "event_ts": "1769051503.000300"}, "Ev4")
        _event(bot, {"type": "reaction_added", "user": "U0BOB", "reaction": "thumbsup",
                     "item": {"type": "message", "channel": "C0INC1", "ts": REPORT_TS},
                     "event_ts": "1769051504.000300"}, "Ev5")
        _wait(lambda: _notes(bot, incident))
        time.sleep(0.5)  # the duplicates and the ignored ones had their chance
        # Once, at the message's own time, whichever of the three events was handled first.
        ((at, text, who),) = _notes(bot, incident)
        assert at == datetime(2026, 1, 22, 3, 10, 0, 200, tzinfo=UTC)
        assert text == "rolled back to 2.18.6 on node-17, watching"
        assert who in {"U0BOB", "U0CAROL"}

        assert bot.slash("note error rate back to baseline", channel="C0INC1",
                         user="U0ALICE").status_code == 200
        _wait(lambda: len(_notes(bot, incident)) == 2)
        assert _notes(bot, incident)[1][1:] == ("error rate back to baseline", "U0ALICE")

        assert bot.slash("postmortem", channel="C0INC1").status_code == 200
        _wait(lambda: any(f.get("completed") for f in emulator.files.values()))
        (upload,) = [f for f in emulator.files.values() if f.get("completed")]
        assert upload["filename"] == f"postmortem-incident-{incident}.md"
        assert upload["channel"] == "C0INC1" and not upload.get("thread_ts")
        text = upload["content"].decode()
        assert text.startswith("# Postmortem draft: checkout-api: ")
        assert f"- **03:10** rolled back to 2.18.6 on node-17, watching _({who})_" in text
        assert "error rate back to baseline _(U0ALICE)_" in text
        _wait(lambda: any("is in <#C0INC1>" in str(e.get("text")) for e in emulator.ephemeral))
        assert not emulator.violations
