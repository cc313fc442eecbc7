"""`segbot check-config [--config FILE] [--playbook FILE] [--ssh]`: validate the config and
the playbook, and with --ssh log in to every host with its pinned key (nothing is run)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from bot.config import Config


def command(
    config: Annotated[Path | None, typer.Option(
        "--config", help="Config file (default: $SEGBOT_CONFIG).")] = None,
    playbook: Annotated[Path | None, typer.Option("--playbook", help="Playbook YAML.")] = None,
    ssh: Annotated[bool, typer.Option(
        "--ssh", help="Also connect to every host: reachability, pinned host key, login.")]
    = False,
) -> None:
    """Check the config file and the playbook; exit 2 with the reason when either is bad."""
    from bot.config import load_config, load_playbook_file
    from bot.errors import ConfigError

    cfg = load_config(config)
    book = load_playbook_file(playbook, cfg)
    problems = [f"service {name!r} selects no host" for name in cfg.services
                if not cfg.service_hosts(name)]
    if problems:
        raise ConfigError("; ".join(problems))
    warnings: list[str] = []
    for name in cfg.hosts:
        target = cfg.target(name)
        for label, path in (("identity_file", target.identity_file),
                            ("known_hosts", target.known_hosts)):
            if not path.is_file():
                warnings.append(f"host {name}: {label} {path} does not exist here")
    for warning in dict.fromkeys(warnings):
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"ok: {len(cfg.hosts)} hosts, {len(cfg.services)} services, "
               f"playbook {book.name!r} with {len(book.steps)} steps")
    if ssh:
        _probe_hosts(cfg)


def _probe_hosts(cfg: Config) -> None:
    """Connect to each host at once (bounded), as diagnose would; exit 1 if any fails."""
    from concurrent.futures import ThreadPoolExecutor

    from bot.errors import RemoteError, SegbotError
    from bot.wiring.ssh import ssh_probe

    def probe(name: str) -> str | None:
        try:
            ssh_probe(cfg, name)
        except SegbotError as error:
            return str(error)
        return None

    with ThreadPoolExecutor(max_workers=max(1, min(16, cfg.defaults.max_hosts))) as pool:
        results = dict(zip(cfg.hosts, pool.map(probe, cfg.hosts), strict=True))
    for name, problem in results.items():
        typer.echo(f"{name}: {'ok (host key pinned, login works)' if problem is None else problem}")
    failed = [name for name, problem in results.items() if problem is not None]
    if failed:
        raise RemoteError(f"{len(failed)} of {len(results)} hosts failed: {', '.join(failed)}")
