"""Block Kit from domain values: whatever the evidence holds (300 frames, huge names, markup,
any Unicode), every message stays inside Slack's limits, and what is cut says so."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.slack.blocks import decoded_message, fit, report_message
from bot.app.report_view import Button, Decision, HostProgress, ReportView
from bot.domain.decode import decode_text
from bot.domain.incident import Incident, Status
from tests.support.slack_checks import message_problems

NOW = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
KERNEL = ("[Wed Jan 22 03:11:07 2026] checkout-api[24891]: segfault at 0000000000000038 ip "
          "000055c1b2f9a4d2 sp 00007ffd7b5d1a10 error 4 in checkout-api[55c1b2f82000+3e0000]")


def _backtrace(names: list[str]) -> str:
    lines = [KERNEL, "Program terminated with signal SIGSEGV, Segmentation fault."]
    for i, name in enumerate(names):
        lines.append(f"#{i}  0x{0x55c1b2f9a4d2 + i:016x} in {name} (x=0x0) at "
                     f"/src/{'deep/' * 40}file{i}.cc:{i + 1}")
    return "\n".join(lines)


def _incident(service: str = "checkout-api", signature: str | None = None) -> Incident:
    return Incident(id=7, service=service, signature=signature, status=Status.INVESTIGATING,
                    occurrences=123456, hosts=tuple(f"node-{n}" for n in range(200)),
                    opened_at=NOW, last_seen=NOW)


def _view(text: str, incident: Incident, label: str = "Roll back") -> ReportView:
    report = decode_text(text, now=NOW, host="node-17")
    hosts = tuple(HostProgress(f"node-{n}", 21, n % 21, ("backtrace", "mappings"), ("ldd",),
                               n % 3 == 0, "connection lost " * 40 if n % 3 == 0 else None)
                  for n in range(60))
    buttons = tuple(Button("p" * 43, action, (label + " ") * 10, True, n % 2 == 0)
                    for n, action in enumerate(["rollback", "disable_flag", "restart_delay",
                                                "preserve_core", "rerun", "resolve"]))
    decisions = tuple(Decision("U0BOB", "rollback", "failed", NOW, "x" * 5000)
                      for _ in range(30))
    return ReportView(incident, report, "node-17", hosts, buttons, decisions,
                      files=tuple(f"evidence-node-{n}.txt" for n in range(200)))


def test_a_monster_report_fits_and_says_what_was_cut() -> None:
    text = _backtrace(["ns::Very<Long>::name" * 30 + str(i) for i in range(300)])
    view = _view(text, _incident(signature="SIGSEGV " + "x" * 3000))
    blocks, fallback = report_message(view)
    assert message_problems({"blocks": blocks, "text": fallback}) == []
    dumped = str(blocks)
    assert "more frames in the evidence file" in dumped
    assert "cut here" in dumped  # the host list did not fit: it says so


def test_markup_in_evidence_is_shown_not_executed() -> None:
    text = _backtrace(["<!channel>", "<@U0BOB>", "a&b", "<https://evil|click>"])
    blocks, _ = report_message(_view(text, _incident()))
    [backtrace] = [b["text"]["text"] for b in blocks
                   if b["type"] == "section" and "*Backtrace*" in b["text"]["text"]]
    assert "<!" not in backtrace and "<@" not in backtrace and "<http" not in backtrace
    assert "&lt;!channel&gt;" in backtrace and "a&amp;b" in backtrace


def test_fit_cuts_loudly() -> None:
    assert fit("short", 3000) == "short"
    cut = fit("y" * 10_000, 3000, "evidence-node-17.txt")
    assert len(cut) <= 3000 and cut.endswith("in evidence-node-17.txt")


@settings(max_examples=60, deadline=None)
@given(names=st.lists(st.text(min_size=1, max_size=400).map(
           lambda s: s.replace("\n", " ").replace("\r", " ")), min_size=0, max_size=40),
       service=st.text(min_size=1, max_size=63),
       signature=st.none() | st.text(max_size=2000),
       label=st.text(min_size=1, max_size=200))
def test_any_evidence_stays_within_slack_limits(names: list[str], service: str,
                                                signature: str | None, label: str) -> None:
    view = _view(_backtrace(names), _incident(service, signature), label)
    blocks, fallback = report_message(view)
    assert message_problems({"blocks": blocks, "text": fallback}) == []
    blocks, fallback = decoded_message(view.report)  # type: ignore[arg-type]
    assert message_problems({"blocks": blocks, "text": fallback}) == []
