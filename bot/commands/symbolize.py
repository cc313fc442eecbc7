"""`segbot symbolize`: module offsets to function+offset, file:line and inline chain."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer


def _parse_offset(text: str) -> int:
    from bot.errors import UsageError

    raw = text.strip().lower()
    raw = raw.removeprefix("+")
    try:
        return int(raw, 16)  # hex with or without 0x, as addr2line reads addresses
    except ValueError:
        raise UsageError(f"not a hex offset: {text!r}") from None


class _LazyDebuginfod:
    """Imports the httpx adapter only when a local lookup failed (start-up stays light)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls

    def fetch(self, *, build_id: str, artifact: Literal["debuginfo", "executable"]) -> Any:
        from bot.adapters.debuginfod import DebuginfodClient

        return DebuginfodClient(self.urls).fetch(build_id=build_id, artifact=artifact)


def command(
    offsets: Annotated[list[str], typer.Argument(help="Module offsets in hex (0x184d2).")],
    binary: Annotated[
        Path | None, typer.Option("--binary", help="The module (stripped is fine).")
    ] = None,
    build_id: Annotated[
        str | None, typer.Option("--build-id", help="The module's GNU build-id, hex.")
    ] = None,
    symbols: Annotated[
        list[Path] | None,
        typer.Option(
            "--symbols", help="Debug file, binary or debug directory (.build-id/ layout)."
        ),
    ] = None,
    debuginfod: Annotated[
        list[str] | None,
        typer.Option("--debuginfod", help="debuginfod server URL (default: $DEBUGINFOD_URLS)."),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print symbolized JSON.")] = False,
    return_address: Annotated[
        bool, typer.Option("--return-address", help="Every offset is a return address.")
    ] = False,
    callers: Annotated[
        bool,
        typer.Option(
            "--callers",
            help="Every offset but the first is a return address "
            "(a backtrace, crashing frame first).",
        ),
    ] = False,
) -> None:
    """Module offsets to function+offset, file:line and inline chain (innermost first)."""
    from bot.errors import UsageError

    if (binary is None) == (build_id is None):
        raise UsageError("give exactly one of --binary PATH or --build-id HEX")
    parsed = [_parse_offset(text) for text in offsets]
    flags = [return_address or (callers and i > 0) for i in range(len(parsed))]

    from bot.app.symbolize import DebugInfoFetcher, symbolize_offsets

    fetcher: DebugInfoFetcher | None = None
    urls = list(debuginfod or [])
    if not urls:
        import os

        urls = os.environ.get("DEBUGINFOD_URLS", "").split()
    if urls:
        fetcher = _LazyDebuginfod(urls)
    result = symbolize_offsets(
        build_id=build_id.lower() if build_id else None,
        binary=binary,
        offsets=parsed,
        return_addresses=flags,
        symbol_paths=list(symbols or []),
        fetcher=fetcher,
    )
    if json_output:
        import json

        from bot.symbols.model import module_to_dict

        typer.echo(json.dumps(module_to_dict(result), indent=2))
        return
    from bot.symbols.model import describe_offset

    for item in result.results:
        typer.echo(describe_offset(item))
