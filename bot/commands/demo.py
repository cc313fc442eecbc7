"""`segbot demo`: the whole pipeline on this machine, with no Slack workspace and no fleet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def command(
    postmortem: Annotated[Path, typer.Option(
        "--postmortem", "-o", help="where to write the postmortem draft")]
    = Path("segbot-demo-postmortem.md"),
    keep: Annotated[bool, typer.Option("--keep", help="keep the working directory")] = False,
) -> None:
    """Crash a real service in a restart loop, diagnose, contain it, write the postmortem."""
    from rich.console import Console

    from bot.wiring.local import render_slack_message, run_demo

    console = Console()
    with console.status("segbot demo", spinner="dots") as status:
        def step(text: str) -> None:
            status.update(text)
            console.print(f"[green]✓[/] {text}", highlight=False)

        result = run_demo(postmortem_path=postmortem, step=step, keep=keep)
    for title, blocks in result.messages:
        render_slack_message(blocks, console, title=f"Slack · {title}")
    console.rule("Done")
    console.print(f"incident #{result.incident_id}; postmortem draft: {result.postmortem}",
                  highlight=False)
