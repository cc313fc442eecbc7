"""`segbot serve`: the bot (Slack, alert intake, scheduler, /healthz, /metrics)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def command(
    config: Annotated[
        Path | None, typer.Option("--config", help="config file (default: $SEGBOT_CONFIG)")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="port to listen on")] = 8080,
) -> None:
    """Run the bot: Slack, alert intake on HTTP, the scheduler, /healthz and /metrics."""
    from bot.config import load_config
    from bot.wiring.serve import serve

    serve(config=load_config(config, required=False), host=host, port=port)
