"""This process as one replica among those sharing the store: its lease store, heartbeat and
name (host, pid and a random part, so a restarted process is a new holder)."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Mapping
from typing import Any

from bot.adapters.store.leases import SqlLeases
from bot.app.claims import DEFAULT_TTL, Heartbeat, Replica
from bot.errors import ConfigError


def replica_for(engine: Any, environ: Mapping[str, str] = os.environ) -> Replica:
    """`SEGBOT_LEASE_SECONDS` (default 15): how long a dead replica's claims outlive it."""
    raw = environ.get("SEGBOT_LEASE_SECONDS") or str(DEFAULT_TTL)
    try:
        ttl = float(raw)
    except ValueError:
        raise ConfigError(f"SEGBOT_LEASE_SECONDS is not a number: {raw!r}") from None
    if not 0.5 <= ttl <= 600:
        raise ConfigError("SEGBOT_LEASE_SECONDS must be between 0.5 and 600")
    leases = SqlLeases(engine)
    holder = f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(4)}"
    return Replica(leases=leases, heartbeat=Heartbeat(leases, ttl=ttl), holder=holder,
                   grace=2 * ttl)
