"""`segbot symbolize`: module offsets to function+offset, file:line and inline chain. Measured
against addr2line as a whole command: `fast_main` skips typer, and nothing heavy is imported
at module level."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

if TYPE_CHECKING:
    import typer
else:

    class _LazyTyper:
        def __getattr__(self, name: str) -> Any:
            import typer as real

            return getattr(real, name)

    typer = _LazyTyper()


def _parse_offset(text: str) -> int:
    from bot.errors import UsageError

    raw = text.strip().lower().removeprefix("+")
    try:
        return int(raw, 16)  # hex with or without 0x, as addr2line reads addresses
    except ValueError:
        raise UsageError(f"not a hex offset: {text!r}") from None


def run(
    *,
    offsets: Sequence[str],
    binary: Path | None,
    build_id: str | None,
    symbols: Sequence[Path],
    debuginfod: Sequence[str],
    json_output: bool,
    return_address: bool,
    callers: bool,
    file_offsets: bool = False,
) -> str:
    """The text the verb prints (without the final newline)."""
    from bot.errors import UsageError

    if (binary is None) == (build_id is None):
        raise UsageError("give exactly one of --binary PATH or --build-id HEX")
    if not offsets:
        raise UsageError("give at least one OFFSET")
    parsed = [_parse_offset(text) for text in offsets]
    flags = [return_address or (callers and i > 0) for i in range(len(parsed))]

    from bot.app.symbolize import symbolize_offsets
    from bot.wiring.local import debuginfod_fetcher

    result = symbolize_offsets(
        build_id=build_id.lower() if build_id else None,
        binary=binary,
        offsets=parsed,
        return_addresses=flags,
        symbol_paths=list(symbols),
        fetcher=debuginfod_fetcher(debuginfod),
        file_offsets=file_offsets,
    )
    if json_output:
        import json

        from bot.symbols.model import module_to_dict

        return json.dumps(module_to_dict(result), indent=2)
    from bot.symbols.model import describe_offset

    return "\n".join(describe_offset(item) for item in result.results)


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
        typer.Option("--symbols", help="Debug file, binary or debug directory (.build-id/)."),
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
            help="Every offset but the first is a return address (a backtrace, crash first).",
        ),
    ] = False,
    file_offsets: Annotated[
        bool,
        typer.Option(
            "--file-offsets", help="Offsets are positions in the file (kernel file_offset)."
        ),
    ] = False,
) -> None:
    """Module offsets to function+offset, file:line and inline chain (innermost first)."""
    text = run(
        offsets=offsets,
        binary=binary,
        build_id=build_id,
        symbols=symbols or [],
        debuginfod=debuginfod or [],
        json_output=json_output,
        return_address=return_address,
        callers=callers,
        file_offsets=file_offsets,
    )
    typer.echo(text)


_GAP = "-"  # marks options after the offsets
_VALUED = {"--binary": "binary", "--build-id": "build_id"}
_REPEATED = {"--symbols": "symbols", "--debuginfod": "debuginfod"}
_FLAGS = {
    "--json": "json_output",
    "--return-address": "return_address",
    "--callers": "callers",
    "--file-offsets": "file_offsets",
}


def _plain_args(argv: Sequence[str]) -> dict[str, Any] | None:
    """An ordinary command line's arguments, read without argparse's import and message lookups;
    None for anything else (help, unknown options, a missing value...), which argparse reads."""
    args: dict[str, Any] = {"binary": None, "build_id": None, "symbols": [], "debuginfod": []}
    args.update(dict.fromkeys(_FLAGS.values(), False))
    offsets: list[str] = []
    words = iter(argv)
    for word in words:
        if not word.startswith("-"):
            if offsets and offsets[-1] is _GAP:
                return None  # offsets on both sides of an option: argparse refuses them
            offsets.append(word)
            continue
        if offsets and offsets[-1] is not _GAP:
            offsets.append(_GAP)
        name, equals, value = word.partition("=")
        if name in _FLAGS and not equals:
            args[_FLAGS[name]] = True
            continue
        if name not in _VALUED and name not in _REPEATED:
            return None
        if not equals:
            value = next(words, "-")
            if value.startswith("-"):
                return None
        if name in _VALUED:
            args[_VALUED[name]] = Path(value) if name == "--binary" else value
        else:
            args[_REPEATED[name]].append(Path(value) if name == "--symbols" else value)
    if offsets and offsets[-1] is _GAP:
        offsets.pop()
    if not offsets:
        return None
    args["offsets"] = offsets
    return args


def _argparse_args(argv: Sequence[str]) -> dict[str, Any]:
    import argparse

    parser = argparse.ArgumentParser(prog="segbot symbolize")
    parser.add_argument("offsets", nargs="+")
    parser.add_argument("--binary", type=Path)
    parser.add_argument("--build-id")
    parser.add_argument("--symbols", type=Path, action="append", default=[])
    parser.add_argument("--debuginfod", action="append", default=[])
    parser.add_argument("--json", dest="json_output", action="store_true")
    parser.add_argument("--return-address", action="store_true")
    parser.add_argument("--callers", action="store_true")
    parser.add_argument("--file-offsets", action="store_true")
    return vars(parser.parse_args(list(argv)))


class _OnFirstUse(ModuleType):
    """Stands in sys.modules for a module not imported yet, and imports it when one of its
    attributes is first read (an `import` of it alone reads none)."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        import importlib

        return getattr(importlib.import_module(self.__name__), name)


def _defer_inspect() -> None:
    """dataclasses imports inspect (with ast, dis and tokenize: a tenth of addr2line's whole
    run in instructions) only to describe classes without a docstring: import it on first use."""
    sys.modules.setdefault("inspect", _OnFirstUse("inspect"))


def fast_main(argv: Sequence[str]) -> int:
    """The same verb without typer; prints errors as `segbot: reason` and returns the status."""
    _defer_inspect()
    from bot.errors import SegbotError

    args = _plain_args(argv)
    if args is None:
        args = _argparse_args(argv)
    try:
        text = run(**args)
    except SegbotError as error:
        print(f"segbot: {error}", file=sys.stderr)
        return error.exit_code
    sys.stdout.write(text + "\n")
    return 0


def leave(status: int, *, whole_process: bool) -> NoReturn:
    """Exit with status; when the verb was the process's whole work, without tearing the
    interpreter down (freeing every object costs a tenth of a warm command's instructions)."""
    if not whole_process:
        sys.exit(status)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe: what was printed is lost
        status = status or 1
    os._exit(status)


if __name__ == "__main__":
    leave(fast_main(sys.argv[1:]), whole_process=True)
