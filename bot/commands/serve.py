"""`segbot serve`: the bot's HTTP server (alert intake, /healthz, /metrics)."""

from __future__ import annotations

import os
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
    """Run the bot: alert intake on HTTP, /healthz and /metrics."""
    from bot.adapters.web.server import serve

    if config is None and os.environ.get("SEGBOT_CONFIG"):
        config = Path(os.environ["SEGBOT_CONFIG"])
    serve(host=host, port=port, config_path=config)
