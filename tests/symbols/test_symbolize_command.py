"""`segbot symbolize`: JSON that validates against tests/schemas/symbolized.schema.json and
agrees with addr2line, one readable line per offset, usage errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import typer
from typer.testing import CliRunner

from bot.commands import symbolize
from bot.errors import SegbotError
from tests.symbols.builds import Built, text_addresses
from tests.symbols.oracles import addr2line

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "schemas" / "symbolized.schema.json"


def _schema() -> dict[str, object]:
    return json.loads(SCHEMA.read_text())  # type: ignore[no-any-return]


def _python_m(argv: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    """`python -m ARGV` from the checkout, with its own cache and no debuginfod."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "DEBUGINFOD_URLS": ""}
    return subprocess.run(
        [sys.executable, "-m", *argv], capture_output=True, text=True, env=env, cwd=ROOT
    )


def _unknown_build_id(byte: str, symbols: Path) -> list[str]:
    return ["--build-id", byte * 20, "--symbols", str(symbols), "0x10"]


def _invoke(args: list[str], cache: Path) -> tuple[int, str]:
    app = typer.Typer()
    app.command()(symbolize.command)
    runner = CliRunner()
    env = {"XDG_CACHE_HOME": str(cache), "DEBUGINFOD_URLS": ""}
    result = runner.invoke(app, args, env=env)
    if isinstance(result.exception, SegbotError):
        return result.exception.exit_code, str(result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout


def test_json_validates_and_agrees_with_addr2line(
    binaries: dict[str, Built], tmp_path: Path
) -> None:
    built = binaries["cc-dwarf5"]
    offsets = text_addresses(built.path)[::25]
    code, out = _invoke(
        [
            "--json",
            "--binary",
            str(built.stripped),
            "--symbols",
            str(built.debug),
            *(hex(o) for o in offsets),
        ],
        tmp_path,
    )
    assert code == 0, out
    document = json.loads(out)
    jsonschema.validate(document, _schema())
    assert document["build_id"] == built.build_id
    assert [r["offset"] for r in document["results"]] == [hex(o) for o in offsets]
    expected = addr2line(built.path, offsets)
    for result, chain in zip(document["results"], expected, strict=True):
        if chain and all(name is not None for name, _, _ in chain) and result["frames"]:
            assert [f["function"] for f in result["frames"]] == [name for name, _, _ in chain]
            assert [f["inlined"] for f in result["frames"]] == [True] * (len(chain) - 1) + [False]


def test_text_is_one_line_per_offset(binaries: dict[str, Built], tmp_path: Path) -> None:
    built = binaries["c-dwarf5"]
    offsets = text_addresses(built.path)[30:40]
    code, out = _invoke(["--binary", str(built.path), *(f"{o:x}" for o in offsets)], tmp_path)
    assert code == 0
    lines = out.splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [hex(o) for o in offsets]
    assert all(" at " in line for line in lines)


def test_usage_errors(binaries: dict[str, Built], tmp_path: Path) -> None:
    built = binaries["c-dwarf5"]
    code, message = _invoke(["0x10"], tmp_path)
    assert code == 2 and "--binary" in message
    code, message = _invoke(["--binary", str(built.path), "0xzz"], tmp_path)
    assert code == 2 and "not a hex offset" in message


def test_whole_command_exit_status_on_a_miss(tmp_path: Path) -> None:
    try:
        import bot.cli  # noqa: F401
    except ImportError as error:  # another verb of the CLI is not in this checkout yet
        pytest.skip(f"bot.cli does not import: {error}")
    done = _python_m(["bot", "symbolize", *_unknown_build_id("ab", tmp_path)], tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("segbot: no symbols for build-id")
    assert "Traceback" not in done.stderr


def test_fast_entry_prints_what_the_typer_verb_prints(
    binaries: dict[str, Built], tmp_path: Path
) -> None:
    built = binaries["cc-dwarf4"]
    args = [
        "--json",
        "--callers",
        "--binary",
        str(built.path),
        *(hex(o) for o in text_addresses(built.path)[::50]),
    ]
    code, typer_out = _invoke(args, tmp_path)
    assert code == 0
    done = _python_m(["bot.commands.symbolize", *args], tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(typer_out)
    missing = _python_m(["bot.commands.symbolize", *_unknown_build_id("cd", tmp_path)], tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.startswith("segbot: no symbols for build-id")


@pytest.mark.parametrize(
    "argv",
    [
        ["0x10"],
        ["--build-id", "ab" * 20, "--symbols", "/usr/lib/debug", "0x10", "1f"],
        ["--json", "--callers", "--binary=/bin/true", "--symbols=/a", "--symbols", "/b", "0x1"],
        ["--debuginfod", "http://127.0.0.1:1", "--file-offsets", "--return-address", "0x2", "3"],
        ["0x1", "0x2", "--json", "--binary", "/bin/true"],
    ],
)
def test_the_fast_entry_reads_ordinary_arguments_as_argparse_does(argv: list[str]) -> None:
    assert symbolize._plain_args(argv) == symbolize._argparse_args(argv)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--json"],
        ["--bin", "/bin/true", "0x1"],
        ["--binary", "--json", "0x1"],
        ["0x1", "--json", "0x2"],
        ["--json=yes", "0x1"],
        ["--symbols"],
    ],
)
def test_the_fast_entry_leaves_anything_else_to_argparse(argv: list[str]) -> None:
    assert symbolize._plain_args(argv) is None


def test_the_fast_entry_imports_nothing_heavy(binaries: dict[str, Built], tmp_path: Path) -> None:
    """Start-up is most of a warm command: no typer, pydantic, SQLAlchemy, argparse, and inspect
    (which dataclasses imports) stays unloaded."""
    built = binaries["cc-dwarf5"]
    script = (
        "import sys\n"
        "from bot.commands.symbolize import fast_main\n"
        f"assert fast_main(['--binary', {str(built.path)!r}, '0x1000']) == 0\n"
        "heavy = {'typer', 'rich', 'pydantic', 'sqlalchemy', 'structlog', 'httpx', 'argparse',\n"
        "         'ast', 'dis', 'tokenize'}\n"
        "print(sorted(heavy & set(sys.modules)), type(sys.modules['inspect']).__name__)\n"
    )
    done = _python_m(["bot.commands.symbolize", "--version"], tmp_path)  # argparse's refusal
    assert done.returncode == 2 and "usage: segbot symbolize" in done.stderr
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "DEBUGINFOD_URLS": ""}
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines()[-1] == "[] _OnFirstUse"
