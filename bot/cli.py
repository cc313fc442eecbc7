"""The `segbot` command line: verbs are registered here and live in bot/commands/.

Start-up stays light (symbolize is measured against addr2line as a whole command), so
each verb imports what it needs inside its own function.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from bot.commands import decode
from bot.commands import symbolize
from bot.commands import incidents, serve
from bot.commands import diagnose, check_config
from bot.commands import manifest
from bot.commands import postmortem
from bot.commands import demo

app = typer.Typer(
    name="segbot",
    help="Decode, diagnose and contain native crashes (SIGSEGV, SIGBUS, SIGILL, SIGABRT).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

app.command("decode")(decode.command)
app.command("symbolize")(symbolize.command)
app.command("serve")(serve.command)
app.command("incidents")(incidents.command)
app.command("incident")(incidents.show)
app.command("diagnose")(diagnose.command)
app.command("check-config")(check_config.command)
app.command("manifest")(manifest.command)
app.command("postmortem")(postmortem.command)
app.command("demo")(demo.command)


def _fail(message: str, code: int) -> None:
    print(f"segbot: {message}", file=sys.stderr)
    sys.exit(code)


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI, turning segbot's own errors into a one-line reason and an exit status."""
    from bot.errors import SegbotError

    try:
        return app(args=argv, standalone_mode=True)
    except SegbotError as error:
        _fail(str(error), error.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    return None

