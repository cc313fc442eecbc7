"""The Slack screens of the README, rendered in the terminal from the Block Kit segbot sends:
the incident report, the diagnose form and the App Home tab (`python bench/slack_screens.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from bot.adapters.slack.blocks import report_message
from bot.adapters.slack.views import diagnose_form, home_tab, pasted_answer
from bot.adapters.slack_preview import render_message
from bot.app.report_view import Button, HostProgress, ReportView
from bot.app.slack_entry import HomeView, Pasted
from bot.domain.decode import Section, decode_sections
from bot.domain.decode import decode_text as decode_pasted_text
from bot.domain.incident import Incident, Status

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
NOW = datetime(2026, 1, 22, 3, 12, 40, tzinfo=UTC)
KERNEL = ("Jan 22 03:11:06 node-17 kernel: checkout-api[24891]: segfault at 38 ip "
          "000055c1b2f9a4d2 sp 00007ffd7b5d1a10 error 4 in checkout-api[55c1b2f82000+3e0000]")


def _report_view() -> ReportView:
    sections = [Section(output=(FIXTURES / "journal" / "seed_task1.out").read_text(),
                        command="journalctl -u checkout-api.service", host="node-17"),
                Section(output=(FIXTURES / "kernel" / "seed_dmesg_T.out").read_text(),
                        command="dmesg -T", host="node-17")]
    report = decode_sections(sections, now=NOW, host="node-17")
    incident = Incident(1, "checkout-api", report.signature, Status.INVESTIGATING, 3,
                        ("node-17",), NOW - timedelta(minutes=1), NOW)
    return ReportView(incident=incident, report=report, report_host="node-17",
                      hosts=(HostProgress("node-17", 21, 9, ("dump_core", "backtrace"), (),
                                          False, None),),
                      buttons=(Button("p1", "rollback", "Roll back 2.18.7", True, True),
                               Button("p2", "rerun", "Re-run diagnostics", False, True),
                               Button("p3", "resolve", "Resolve", True, True)))


def main() -> None:
    console = Console(width=96, color_system=None, force_terminal=False)
    view = _report_view()
    blocks, text = report_message(view)
    console.print(f"phone notification: {text[:74]}…")
    render_message(blocks, console, title="#inc-20260122-checkout-api-sigsegv · the report")
    form = diagnose_form({"checkout-api": ("node-17", "node-18"), "search": ("search-1",)},
                         service="checkout-api", channel=None)
    render_message(form["blocks"], console, title=f"/segfault · {form['title']['text']}")
    incident = view.incident
    other = Incident(2, "search", "SIGABRT abort|raise|search::Index::load", Status.CONTAINED,
                     12, ("search-1", "search-2"), NOW - timedelta(hours=5), NOW)
    home = home_tab(HomeView(open=((incident, "C0INC1"), (other, "C0INC2")),
                             top=((incident.signature or "?", 41), (other.signature or "", 12)),
                             now=NOW, allowed=True))
    render_message(home["blocks"], console, title="segbot · Home")
    pasted = decode_pasted_text(KERNEL)
    blocks, _ = pasted_answer(Pasted(pasted, "checkout-api", "node-17"))
    render_message(blocks, console, title="#ops · thread · Only visible to you")


if __name__ == "__main__":
    main()
