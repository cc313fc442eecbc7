"""`segbot decode`: pasted crash evidence in, the decoded report out (terminal or JSON)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

MAX_INPUT = 64 * 1024 * 1024


def command(
    files: Annotated[list[str], typer.Argument(help="Files of pasted command output; - is stdin.")],
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the decoded-evidence JSON.")
    ] = False,
    symbols: Annotated[
        list[Path] | None,
        typer.Option(
            "--symbols", help="Binary, debug file or debug directory (.build-id/ layout)."
        ),
    ] = None,
    debuginfod: Annotated[
        list[str] | None,
        typer.Option("--debuginfod", help="debuginfod server URL (default: $DEBUGINFOD_URLS)."),
    ] = None,
) -> None:
    """Decode pasted crash evidence: kernel lines, journal, coredumpctl, gdb, host facts."""
    import json
    from datetime import UTC, datetime

    from bot.domain.decode import decode_text
    from bot.errors import NothingRecognized

    text = "\n".join(_read(name) for name in files)
    report = decode_text(text, now=datetime.now(UTC))
    if not report.recognized_anything:
        raise NothingRecognized(
            "nothing in the input looks like crash evidence "
            "(kernel, journal, coredumpctl, gdb or host-fact output)"
        )
    from bot.wiring.local import debuginfod_fetcher

    fetcher = debuginfod_fetcher(debuginfod or ())
    problems: list[str] = []
    if symbols or fetcher is not None:
        from bot.app.enrich import SymbolSources, symbolize_report

        sources = SymbolSources(paths=list(symbols or []), fetcher=fetcher)
        report, problems = symbolize_report(report, sources)
    if json_output:
        from bot.domain.report_json import report_to_dict

        data = report_to_dict(report)
        if problems:
            data["symbol_problems"] = problems
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    from rich.console import Console

    from bot.wiring.local import render_report

    render_report(report, Console())
    for problem in problems:
        print(f"symbols: {problem}", file=sys.stderr)


def _read(name: str) -> str:
    from bot.errors import UsageError

    if name == "-":
        return sys.stdin.read(MAX_INPUT)
    path = Path(name)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_INPUT)
    except OSError as error:
        raise UsageError(f"cannot read {name}: {error.strerror or error}") from None
    return data.decode("utf-8", errors="replace")
