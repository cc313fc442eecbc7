"""Every Block Kit message segbot sends, built here from domain values through slack_sdk.models
so that Slack's limits are checked before anything leaves (50 blocks, 3000 characters per
section, 75 per button label, 2000 per button value). Text that would not fit is cut with a
note saying so and where the whole of it is: never silently.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.app.digest import DigestView
from bot.app.fleet import FLEET_OVER, FLEET_TABLE
from bot.app.report_view import Button, Decision, HostProgress, ReportView
from bot.app.summaries import SummaryView, summary_lines
from bot.app.texts import title
from bot.domain import siginfo
from bot.domain.crash import Crash
from bot.domain.evidence import Frame
from bot.domain.incident import Incident
from bot.domain.report import DecodedReport
from bot.errors import SlackError

MAX_BLOCKS = 50
SECTION_CHARS = 3000
CONTEXT_CHARS = 2000  # per context element (mrkdwn)
HEADER_CHARS = 150
MAX_FRAMES = 15
FALLBACK_CHARS = 3000
_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,20})&gt;")



def esc(text: str) -> str:
    """Text safe inside Slack mrkdwn (no accidental mentions, links or markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int, where: str = "the evidence file in the thread") -> str:
    """`text` if it fits in `limit` characters, else its start and a note of what is missing
    and where the whole is (the note itself is bounded, so the result always fits)."""
    if len(text) <= limit:
        return text
    where = where if len(where) <= 120 else where[:119] + "…"
    note = f"\n… cut here: {len(text) - limit + 160} more characters in {where}"
    return text[: max(0, limit - len(note))].rstrip() + note


def _section(text: str, where: str = "the evidence file in the thread") -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit(text, SECTION_CHARS, where)))


def _context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=fit(t, CONTEXT_CHARS))
                                  for t in texts[:10] if t])


def report_message(view: ReportView) -> tuple[list[dict[str, Any]], str]:
    """(blocks, notification text) of an incident's report message."""
    incident = view.incident
    report = view.report
    crash = report.primary if report else None
    title = f"Incident #{incident.id} · {incident.service} · {incident.status}"
    blocks: list[Block] = [HeaderBlock(text=title[:HEADER_CHARS])]
    if crash is not None and report is not None:
        blocks.append(_section(headline(crash, report)))
    else:
        blocks.append(_section(_known(view)))
    if report is not None and report.restart_storm is not None:
        storm = report.restart_storm
        state = ":rotating_light: *restart storm*" if storm.storm else "restarts"
        blocks.append(_section(f"{state}: `{esc(storm.unit or '?')}` {esc(storm.describe())}"))
    signature = incident.signature or (report.signature if report else None)
    blocks.append(_context(
        f"*{incident.occurrences}* occurrence(s) on {esc(', '.join(incident.hosts) or '?')}",
        f"signature `{esc(signature)}`" if signature else "signature not known yet",
        f"opened {incident.opened_at:%Y-%m-%d %H:%M} UTC",
        *([f"commander <@{incident.commander}>"] if incident.commander else [])))
    if len(view.hosts) > FLEET_OVER:
        blocks.append(_section("*Diagnosis*\n" + "\n".join(fleet_lines(view.hosts, view.files))))
    elif view.hosts:
        blocks.append(_section("*Diagnosis*\n" + "\n".join(_progress(h) for h in view.hosts)))
    if crash is not None and crash.frames:
        blocks.append(_section(frames_text(crash), _files(view)))
    if report is not None:
        blocks.extend(_conclusions(report, _files(view)))
    if view.changes:
        blocks.append(_section("*Change history*\n" + "\n".join(
            f"• {esc(line)}" for line in view.changes), _files(view)))
    if view.buttons:
        blocks.append(DividerBlock())
        blocks.append(ActionsBlock(elements=[_button(n, b) for n, b in
                                             enumerate(view.buttons[:25])]))
    if view.decisions:
        blocks.append(_context(*(_decision(d) for d in view.decisions[-10:])))
    if view.files:
        blocks.append(_context("Files in the thread: " + ", ".join(
            f"`{esc(f)}`" for f in view.files)))
    # The notification (what a phone shows) is plain text: the headline's first line unmarked.
    head = (headline(crash, report).split("\n", 1)[0].replace("*", "").replace("`", "")
            if crash is not None and report is not None else _known(view, plain=True))
    text = f"Incident #{incident.id} {incident.service} ({incident.status}): {head}"
    return checked(blocks), fit(esc(text), FALLBACK_CHARS)  # notifications parse markup too


def _known(view: ReportView, *, plain: bool = False) -> str:
    """What is known before the first decoded evidence: the signal (from the alert) and hosts."""
    hosts = ", ".join(h.host for h in view.hosts) or ", ".join(view.incident.hosts) or "the host"
    signal = (view.incident.signature or "").split(" ", 1)[0]
    if plain:  # the notification text (escaped by the caller)
        return f"{signal + ' on ' if signal else 'diagnosing '}{hosts}"
    if signal:
        return f"*{esc(signal)}* on {esc(hosts)}: _diagnosing, the crash site follows…_"
    return f"_Waiting for the first evidence from {esc(hosts)}…_"


def decoded_message(report: DecodedReport) -> tuple[list[dict[str, Any]], str]:
    """The decoder's report as an ephemeral message (`/segfault decode`)."""
    crash = report.primary
    blocks: list[Block] = [HeaderBlock(text="segbot decode")]
    where = "segbot decode --json on the full text"
    if crash is None:
        blocks.append(_section(f"No crash found in that text ({len(report.facts)} facts, "
                               f"{report.unrecognized_lines} lines not recognized)."))
    else:
        blocks.append(_section(headline(crash, report)))
        if crash.frames:
            blocks.append(_section(frames_text(crash), where))
    blocks.extend(_conclusions(report, where))
    text = headline(crash, report) if crash is not None else "no crash found"
    return checked(blocks), fit(text, FALLBACK_CHARS)


def headline(crash: Crash, report: DecodedReport) -> str:
    """The decoded kernel line: what crashed, where, and what it means."""
    who = crash.process or crash.module or "?"
    line = f"*{esc(crash.signal or 'crash')}* in `{esc(who)}`"
    if crash.pid is not None:
        line += f" (pid {crash.pid})"
    if crash.host:
        line += f" on {esc(crash.host)}"
    if crash.time:
        line += f" at {crash.time:%Y-%m-%d %H:%M:%S} UTC"
    details: list[str] = []
    if crash.fault_address is not None:
        code = f" ({esc(siginfo.describe(crash.signal_code))})" if crash.signal_code else ""
        details.append(f"fault address `{crash.fault_address:#x}`{code}")
    if crash.ip is not None:
        site = f"ip `{crash.ip:#x}`"
        if crash.module and crash.site_offset is not None:
            site += f" = `{esc(crash.module)}+{crash.site_offset:#x}`"
        details.append(site)
    if details:
        line += "\n" + ", ".join(details)
    if report.classification is not None:
        c = report.classification
        line += f"\n_{esc(c.kind.replace('-', ' '))}_ ({c.confidence} confidence)"
        for evidence in c.evidence[:3]:
            line += f"\n• {esc(evidence)}"
    return line


def frames_text(crash: Crash) -> str:
    frames = crash.crashing_frames()
    lines = [f"*Backtrace* (thread {crash.crashing_thread or '?'}, {len(frames)} frames)"]
    size = len(lines[0])
    for frame in frames[:MAX_FRAMES]:
        line = _frame(frame)
        if size + len(line) + 1 > SECTION_CHARS - 80:  # whole frames only; room for the note
            break
        lines.append(line)
        size += len(line) + 1
    shown = len(lines) - 1
    if len(frames) > shown:
        lines.append(f"_… {len(frames) - shown} more frames in the evidence file_")
    return "\n".join(lines)


def _frame(frame: Frame) -> str:
    name = _short(esc(frame.function or "??"), 200)
    where = f" at {_short(esc(frame.file), 200)}:{frame.line}" if frame.file else ""
    module = (f" ({esc(frame.module)}+{frame.module_offset:#x})"
              if frame.module and frame.module_offset is not None else "")
    inlined = " _inlined_" if frame.inlined else ""
    return f"`#{frame.index}` `{name}`{inlined}{where}{module}"


def _conclusions(report: DecodedReport, where: str) -> list[Block]:
    blocks: list[Block] = []
    if report.changes:
        lines = ["*Changes before the first crash*"]
        for change in report.changes[:10]:
            when = f" at {change.time:%H:%M:%S}" if change.time else ""
            gap = (f", {change.minutes_before:g} min before"
                   if change.minutes_before is not None else "")
            lines.append(f"• {esc(change.kind.replace('_', ' '))} `{esc(change.name)}` "
                         f"{esc(change.detail)}{when}{gap}")
        blocks.append(_section("\n".join(lines), where))
    if report.health:
        blocks.append(_section("*Evidence at risk*\n" + "\n".join(
            f"• {esc(n.text)}" for n in report.health), where))
    if report.recommendations:
        blocks.append(_section("*Do first*\n" + "\n".join(
            f"{r.priority}. *{title(r.action)}*: {esc(r.reason)}"
            for r in report.recommendations), where))
    blocks.append(_context(f"determinism: {esc(report.determinism.text)}",
                           f"read from {len(report.crashes)} crash record(s) and "
                           f"{len(report.facts)} facts, "
                           f"{report.unrecognized_lines} lines not recognized"))
    return blocks


def fleet_lines(hosts: tuple[HostProgress, ...], files: tuple[str, ...]) -> list[str]:
    """Many hosts: counts, hosts per signature and the outliers; every host is in a file."""
    done = sum(h.finished for h in hosts)
    signatures = Counter(h.signature for h in hosts if h.signature)
    common = signatures.most_common(1)[0][0] if signatures else None
    lines = [f"{len(hosts)} hosts: {done} done, {len(hosts) - done} running, "
             f"{sum(bool(h.error) for h in hosts)} stopped early"]
    lines += [f"• `{esc(sig)}` on {n} host(s)" for sig, n in signatures.most_common(5)]
    for name, values in (("versions", [h.version or "unknown" for h in hosts]),
                         ("AZs", [h.zone or "?" for h in hosts])):
        lines.append(f"{name}: " + "; ".join(
            f"`{esc(value)}` {crashing}/{total} crashing"
            for value, total, crashing in _tally(values, [h.signature is not None
                                                          for h in hosts])[:6]))
    outliers = [h for h in hosts if h.error or h.failed
                or (h.signature is not None and h.signature != common)]
    lines += [_progress(h) for h in outliers[:8]]
    if len(outliers) > 8:
        lines.append(f"… and {len(outliers) - 8} more outliers")
    if FLEET_TABLE in files:
        lines.append(f"every host: `{FLEET_TABLE}` in the thread")
    return lines


def _tally(values: list[str], crashing: list[bool]) -> list[tuple[str, int, int]]:
    """(value, hosts, of which crashing), most hosts first."""
    totals, crashed = Counter(values), Counter(v for v, c in zip(values, crashing, strict=True)
                                                if c)
    return [(v, n, crashed[v]) for v, n in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))]


def _progress(host: HostProgress) -> str:
    line = f"• `{esc(host.host)}`: {host.done}/{host.total} steps"
    if host.finished:
        line += " — done" if not host.error else f" — stopped early: {esc(host.error[:300])}"
    elif host.running:
        line += f" — running {esc(', '.join(host.running[:6]))}"
    if host.failed:
        line += f" (failed: {esc(', '.join(host.failed[:6]))})"
    return line


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _button(index: int, button: Button) -> ButtonElement:
    confirm = None
    if button.destructive and button.configured:
        confirm = ConfirmObject(
            title=_short(button.label, 99).rstrip("?") + "?",
            text=(_short(button.preview, 260) + " Recorded with your name."
                  if button.preview else
                  f"segbot will {_short(button.label.lower(), 150)} now. "
                  "This is recorded with your name."),
            confirm="Do it", deny="Cancel", style="danger")
    return ButtonElement(text=_short(button.label, 75),
                         action_id=f"proposal:{index}:{button.action}",
                         value=button.proposal_id, confirm=confirm,
                         style="danger" if button.destructive and button.configured else None)


def _decision(decision: Decision) -> str:
    outcome = f" — {esc(decision.outcome[:200])}" if decision.outcome else ""
    state = "outcome unknown" if decision.state == "unknown" else decision.state
    return (f"<@{decision.actor}> {esc(title(decision.action))}: "
            f"*{state}* at {decision.at:%H:%M:%S}{outcome}")


def _files(view: ReportView) -> str:
    return ", ".join(view.files) if view.files else "the evidence file posted in the thread"


def checked(blocks: Sequence[Block]) -> list[dict[str, Any]]:
    """Blocks as JSON, validated by slack_sdk (each block's own limits) and the message's."""
    if len(blocks) > MAX_BLOCKS:
        raise SlackError(f"message has {len(blocks)} blocks; Slack allows {MAX_BLOCKS}")
    try:
        return [block.to_dict() for block in blocks]
    except Exception as error:  # SlackObjectFormationError: a limit we failed to respect
        raise SlackError(f"message would break a Slack limit: {error}") from error


def summary_message(view: SummaryView) -> tuple[list[dict[str, Any]], str]:
    """An incident's scheduled summary (bot.app.summaries)."""
    incident = view.incident
    title = f"Summary #{view.number} · incident #{incident.id} · {incident.status}"
    # Escaped like any text we did not write, except user mentions (<@U…>), shown as names.
    body = _MENTION.sub(r"<@\1>", "\n".join(esc(line) for line in summary_lines(view)))
    blocks: list[Block] = [HeaderBlock(text=title[:HEADER_CHARS]), _section(body),
                           _context(f"as of {view.now:%Y-%m-%d %H:%M} UTC · every summary "
                                    "replaces this one" if view.number > 1 else
                                    f"as of {view.now:%Y-%m-%d %H:%M} UTC")]
    return checked(blocks), fit(f"{title}: {view.new_count} new crash(es)", FALLBACK_CHARS)


def digest_message(view: DigestView) -> tuple[list[dict[str, Any]], str]:
    """The daily digest of a channel (bot.app.digest)."""

    history = dict(view.history)  # the signature's change history, for new incidents

    def named(incidents: Sequence[Incident]) -> str:
        return "\n".join(f"• #{i.id} {esc(i.service)} `{esc(i.signature or 'signature unknown')}`"
                         f" — {i.status}, {i.occurrences} crash(es)"
                         + (f": _{esc(history[i.id])}_" if i.id in history else "")
                         for i in incidents[:15]) or "• none"

    top = "\n".join(f"• `{esc(sig)}` ×{count}" for sig, count in view.top) or "• none"

    blocks: list[Block] = [
        HeaderBlock(text=f"segbot daily digest · {view.day_end:%Y-%m-%d}"),
        _section(f"*New in the last day* ({len(view.new)})\n{named(view.new)}"),
        _section(f"*Regressed* ({len(view.regressed)})\n{named(view.regressed)}"),
        _section(f"*Top signatures*\n{top}"),
        _section(f"*Open incidents* ({len(view.open)})\n{named(view.open)}")]
    text = (f"segbot digest: {len(view.new)} new, {len(view.regressed)} regressed, "
            f"{len(view.open)} open")
    return checked(blocks), text
