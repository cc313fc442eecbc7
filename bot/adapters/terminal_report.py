"""The decoded report for a terminal: the crash and what to do first, readable in ten seconds."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from bot.app.texts import title
from bot.domain.crash import Crash
from bot.domain.evidence import Frame
from bot.domain.report import DecodedReport

MAX_FRAMES = 12


def render(report: DecodedReport, console: Console) -> None:
    crash = report.primary
    parts: list[RenderableType] = []
    if crash is not None:
        parts.append(_headline(crash))
        parts.append(_site(report, crash))
        if crash.frames:
            parts.append(_frames(crash))
    console.print(
        Panel(Group(*parts), title="segbot decode", border_style="red", expand=False)
        if parts
        else Text("no crash found; facts below")
    )
    _conclusions(report, console)


def _headline(crash: Crash) -> Text:
    text = Text()
    text.append(crash.signal or "crash", style="bold red")
    text.append(f" in {crash.process or crash.module or '?'}")
    if crash.pid is not None:
        text.append(f" (pid {crash.pid})")
    if crash.host:
        text.append(f" on {crash.host}")
    if crash.time:
        text.append(f" at {crash.time:%Y-%m-%d %H:%M:%S %Z}")
    return text


def _site(report: DecodedReport, crash: Crash) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    if report.classification:
        table.add_row(
            "what",
            f"{report.classification.kind.replace('-', ' ')} "
            f"({report.classification.confidence} confidence)",
        )
        for line in report.classification.evidence:
            table.add_row("", Text(f"- {line}"))
    if crash.ip is not None:
        where = f"{crash.ip:#x}"
        if crash.module and crash.site_offset is not None:
            where += f" = {crash.module}+{crash.site_offset:#x}"
        table.add_row("ip", where)
    if crash.build_id:
        table.add_row("build-id", crash.build_id)
    if report.signature:
        table.add_row("signature", Text(report.signature, style="bold"))
    table.add_row("evidence", ", ".join(crash.sources))
    return table


def _frames(crash: Crash) -> Table:
    table = Table(
        title=f"backtrace (thread {crash.crashing_thread or '?'})",
        show_header=False,
        box=None,
        title_justify="left",
        padding=(0, 1),
    )
    frames = crash.crashing_frames()
    for frame in frames[:MAX_FRAMES]:
        table.add_row(f"#{frame.index}", Text(_frame_text(frame)))
    if len(frames) > MAX_FRAMES:
        table.add_row("", f"... {len(frames) - MAX_FRAMES} more frames (--json shows all)")
    return table


def _frame_text(frame: Frame) -> str:
    name = frame.function or "??"
    if frame.inlined:
        name += " [inlined]"
    where = f" at {frame.file}:{frame.line}" if frame.file else ""
    module = (
        f"  ({frame.module}+{frame.module_offset:#x})"
        if frame.module and frame.module_offset is not None
        else ""
    )
    return f"{name}{where}{module}"


def _conclusions(report: DecodedReport, console: Console) -> None:
    if report.recommendations:
        console.print(Text("Do first", style="bold"))
        for rec in report.recommendations:
            console.print(
                f" {rec.priority}. [bold]{title(rec.action)}[/]: "
                f"{escape(rec.reason)}",
                highlight=False,
            )
    if report.restart_storm:
        storm = report.restart_storm
        state = "[red]restart storm[/]" if storm.storm else "restarts"
        console.print(f"{state}: {storm.unit or '?'} {storm.describe()}", highlight=False)
    for change in report.changes:
        when = f" at {change.time:%H:%M:%S}" if change.time else ""
        console.print(
            f"change: {change.kind.replace('_', ' ')} {change.name} {change.detail}{when}",
            highlight=False,
        )
    for note in report.health:
        console.print(f"[yellow]evidence at risk[/]: {escape(note.text)}", highlight=False)
    console.print(f"determinism: {report.determinism.text}", highlight=False)
    others = [c for c in report.crashes if c is not report.primary]
    for crash in others:
        when = f" at {crash.time:%H:%M:%S}" if crash.time else ""
        console.print(
            f"also: {crash.signal or 'crash'} pid {crash.pid}{when} "
            f"({', '.join(crash.sources)}; core {crash.corefile or '?'})",
            highlight=False,
        )
    console.print(
        f"[dim]read from {len(report.crashes)} crash record(s) and {len(report.facts)} facts, "
        f"{report.unrecognized_lines} lines not recognized[/]",
        highlight=False,
    )
