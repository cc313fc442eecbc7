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
    from dataclasses import replace

    import yaml

    from bot.adapters.slack.manifest import manifest
    from bot.adapters.slack.settings import slack_options
    from bot.adapters.web.server import load_config

    if config is None and os.environ.get("SEGBOT_CONFIG"):
        config = Path(os.environ["SEGBOT_CONFIG"])
    options = slack_options(load_config(config))
    if url:
        options = replace(options, public_url=url)
    if socket_mode is None:
        socket_mode = bool(os.environ.get("SLACK_APP_TOKEN"))
    typer.echo(yaml.safe_dump(manifest(options, socket_mode=socket_mode), sort_keys=False),
               nl=False)
