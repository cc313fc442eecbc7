"""What the verbs that run on this machine use: the incident store, debuginfod, terminal
output, the Slack manifest, and the demo's pipeline."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console

    from bot.adapters.demo.run import DemoResult, Say
    from bot.adapters.store import SqlStore
    from bot.app.ports.store import Store
    from bot.app.ports.symbols import Artifact, DebugInfoFetcher, Fetched
    from bot.config import SlackSection
    from bot.domain.report import DecodedReport


def open_store(url: str | None = None) -> SqlStore:
    """The incident store (SEGBOT_DATABASE_URL, else SQLite in the data directory), migrated."""
    from bot.adapters.store import open_store as open_sql_store

    return open_sql_store(url)


@contextmanager
def store_for(url: str) -> Iterator[Store]:
    """The store at `url`, its connections closed after use (a child process's store)."""
    store = open_store(url)
    try:
        yield store
    finally:
        store.engine.dispose()


def crash_times(store: SqlStore, incident_id: int) -> list[tuple[str, datetime]]:
    """(host, crash time) of the incident's occurrences, for the postmortem draft."""
    from bot.adapters.store.schedule_store import SqlScheduleStore

    return SqlScheduleStore(store.engine).crash_times(incident_id)


class _LazyDebuginfod:
    """The httpx adapter, imported only when a local lookup failed (start-up stays light)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls

    def fetch(self, *, build_id: str, artifact: Artifact) -> Fetched | None:
        from bot.adapters.debuginfod import DebuginfodClient

        return DebuginfodClient(self.urls).fetch(build_id=build_id, artifact=artifact)


def debuginfod_fetcher(urls: Sequence[str] = (),
                       environ: Mapping[str, str] = os.environ) -> DebugInfoFetcher | None:
    """The servers given, else $DEBUGINFOD_URLS (space-separated, the elfutils convention);
    None when there are none."""
    chosen = list(urls) or environ.get("DEBUGINFOD_URLS", "").split()
    return _LazyDebuginfod(chosen) if chosen else None


def render_report(report: DecodedReport, console: Console) -> None:
    """The decoded report on a terminal."""
    from bot.adapters.terminal_report import render

    render(report, console)


def slack_manifest(options: SlackSection, *, socket_mode: bool) -> dict[str, object]:
    """The Slack app manifest for this configuration."""
    from bot.adapters.slack.manifest import manifest

    return manifest(options, socket_mode=socket_mode)


def render_slack_message(blocks: list[dict[str, Any]], console: Console, *, title: str) -> None:
    """A Slack message on a terminal, from the Block Kit that would be posted."""
    from bot.adapters.slack_preview import render_message

    render_message(blocks, console, title=title)


def run_demo(*, postmortem_path: Path, step: Say, keep: bool = False) -> DemoResult:
    """The demo's pipeline on this machine: local transport, SQLite, Block Kit as posted."""
    from bot.adapters.demo.run import DemoParts
    from bot.adapters.demo.run import run_demo as run
    from bot.adapters.local_runner import LocalRunner
    from bot.adapters.slack.blocks import report_message

    parts = DemoParts(open_store=open_store, runner=LocalRunner,
                      report_blocks=lambda view: report_message(view)[0])
    return run(parts=parts, postmortem_path=postmortem_path, step=step, keep=keep)
