"""`segbot manifest`: the Slack app manifest (YAML) for this configuration."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def command(
    config: Annotated[
        Path | None, typer.Option("--config", help="config file (default: $SEGBOT_CONFIG)")
    ] = None,
    socket_mode: Annotated[
        bool | None,
        typer.Option("--socket-mode/--http",
                     help="Socket Mode or HTTP (default: Socket Mode when SLACK_APP_TOKEN is set)"),
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="public base URL for HTTP mode (/slack/events)")
    ] = None,
) -> None:
    """Print the Slack app manifest: scopes, /segfault, interactivity."""
    import yaml

    from bot.config import load_config
    from bot.wiring.local import slack_manifest

    options = load_config(config, required=False).slack
    if url:
        options = options.model_copy(update={"public_url": url})
    if socket_mode is None:
        socket_mode = bool(os.environ.get("SLACK_APP_TOKEN"))
    typer.echo(yaml.safe_dump(slack_manifest(options, socket_mode=socket_mode), sort_keys=False),
               nl=False)
