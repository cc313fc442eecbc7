"""`python -m bot.wiring intake-writer WINDOW_SECONDS`: the intake's writer process, started
by the web adapter's Intake, with its store built here."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bot.wiring.local import store_for


def intake_writer(argv: Sequence[str]) -> int:
    """The intake's writer process (started by the web adapter's Intake)."""
    from bot.adapters.web import writer_process

    return writer_process.main(argv, open_store=store_for)


if __name__ == "__main__":
    if sys.argv[1:2] != ["intake-writer"]:
        raise SystemExit("usage: python -m bot.wiring intake-writer WINDOW_SECONDS")
    raise SystemExit(intake_writer(sys.argv[2:]))
