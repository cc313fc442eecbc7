"""The `segbot` command line: verbs registered here, each in bot/commands/ importing what it
needs only when run (symbolize is measured against addr2line as a whole command)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer


def build_app() -> typer.Typer:
    """The typer application with every verb registered (imported only when needed)."""
    import typer

    from bot.commands import (
        check_config,
        decode,
        demo,
        diagnose,
        incidents,
        manifest,
        postmortem,
        serve,
        symbolize,
    )

    app = typer.Typer(
        name="segbot",
        help="Decode, diagnose and contain native crashes (SIGSEGV, SIGBUS, SIGILL, SIGABRT).",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.command("demo")(demo.command)
    app.command("decode")(decode.command)
    app.command("symbolize")(symbolize.command)
    app.command("diagnose")(diagnose.command)
    app.command("check-config")(check_config.command)
    app.command("serve")(serve.command)
    app.command("incidents")(incidents.command)
    app.command("incident")(incidents.show)
    app.command("postmortem")(postmortem.command)
    app.command("manifest")(manifest.command)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return build_app()
    raise AttributeError(name)


def _fail(message: str, code: int) -> None:
    print(f"segbot: {message}", file=sys.stderr)
    sys.exit(code)


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI, turning segbot's own errors into a one-line reason and an exit status."""
    from bot.errors import SegbotError

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["symbolize"]:  # measured against addr2line as a whole command: no typer
        from bot.commands.symbolize import fast_main, leave

        leave(fast_main(args[1:]), whole_process=argv is None)
    try:
        return build_app()(args=args, standalone_mode=True)
    except SegbotError as error:
        _fail(str(error), error.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    return None

