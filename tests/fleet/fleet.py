"""Many simulated hosts in one asyncio loop, and a segbot config that reaches them.

`SimulatedFleet(specs, workdir)` listens on each spec's loopback address (one shared port),
writes the client key, known_hosts and `segbot.yaml` into workdir. `running_fleet(...)` runs it
in a background thread (tests); `python -m tests.fleet.serve` runs it in its own process (bench).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncssh
import uvloop

from tests.support.local_http import free_port

from .simhost import (
    BINARY,
    CHEAP_ALGORITHMS,
    HostSpec,
    HostState,
    _MemorySFTP,
    _Server,
    handle,
    new_state,
)

SERVICE, UNIT = "checkout-api", "checkout-api.service"


def new_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop: the same asyncssh servers at less CPU per packet than asyncio's."""
    return uvloop.new_event_loop()


def address(index: int) -> str:
    """The index-th simulated host's address: 127.0.0.2 upward, skipping .0 and .255."""
    block, position = divmod(index + 1, 254)
    return str(ipaddress.ip_address(int(ipaddress.ip_address("127.0.0.0")) + 256 * block
                                    + position + 1))


class SimulatedFleet:
    def __init__(self, specs: Sequence[HostSpec], workdir: Path, *, port: int | None = None,
                 defaults: dict[str, Any] | None = None) -> None:
        self.specs, self.workdir = list(specs), workdir
        self.port = port or free_port("127.0.0.2")
        self.defaults = defaults or {}
        self.states = {s.name: new_state(s) for s in self.specs}
        self._hangs: list[asyncio.AbstractServer] = []
        self._held: list[asyncio.StreamWriter] = []

    @property
    def config_path(self) -> Path:
        return self.workdir / "segbot.yaml"

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        wrong_key = asyncssh.generate_private_key("ssh-ed25519")
        client_key = asyncssh.generate_private_key("ssh-ed25519")
        identity = self.workdir / "id_ed25519"
        identity.write_bytes(client_key.export_private_key("openssh"))
        identity.chmod(0o600)
        authorized = asyncssh.import_authorized_keys(
            client_key.export_public_key("openssh").decode())
        public = host_key.export_public_key("openssh").decode().split()[:2]
        known = [f"[{s.address}]:{self.port} {' '.join(public)}" for s in self.specs]
        (self.workdir / "known_hosts").write_text("\n".join(known) + "\n")
        for spec in self.specs:
            state = self.states[spec.name]
            if spec.failure == "refuse":
                continue
            if spec.failure == "hang":
                self._hangs.append(await asyncio.start_server(
                    self._hold, spec.address, self.port))
                continue
            state.listener = await asyncssh.listen(
                spec.address, self.port,
                server_host_keys=[wrong_key if spec.failure == "wrong_key" else host_key],
                authorized_client_keys=authorized,
                server_factory=functools.partial(_Server, state),
                process_factory=functools.partial(handle, state),
                sftp_factory=functools.partial(_MemorySFTP, host=state),
                encoding="utf-8", allow_scp=False, agent_forwarding=False,
                x11_forwarding=False, line_editor=False, **CHEAP_ALGORITHMS)
        self.config_path.write_text(self.config_text())

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._held.append(writer)  # accept, then say nothing: a hung sshd

    async def stop(self) -> None:
        for state in self.states.values():
            if state.listener is not None:
                state.listener.close()
            for conn in state.connections:
                conn.abort()
        for server in self._hangs:
            server.close()
        for writer in self._held:
            writer.close()

    def config_text(self) -> str:
        identity, known = self.workdir / "id_ed25519", self.workdir / "known_hosts"
        defaults = {"evidence_dir": str(self.workdir / "evidence"), **self.defaults}
        hosts = {s.name: {"address": s.address, "port": self.port, "user": "segbot",
                          "identity_file": str(identity), "known_hosts": str(known),
                          "labels": {"az": s.az}}
                 for s in self.specs}
        services = {SERVICE: {"unit": UNIT, "binary": BINARY,
                              "hosts": [s.name for s in self.specs]}}
        return json.dumps({"defaults": defaults, "hosts": hosts, "services": services},
                          indent=1) + "\n"  # JSON is YAML


@contextmanager
def running_fleet(specs: Sequence[HostSpec], workdir: Path,
                  defaults: dict[str, Any] | None = None) -> Iterator[SimulatedFleet]:
    """The fleet served by a loop in a background thread for the duration of the block."""
    fleet = SimulatedFleet(specs, workdir, defaults=defaults)
    loop = new_loop()
    thread = threading.Thread(target=loop.run_forever, name="simulated-fleet", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(fleet.start(), loop).result(timeout=60)
        yield fleet
    finally:
        asyncio.run_coroutine_threadsafe(fleet.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


def specs(count: int, **common: Any) -> list[HostSpec]:
    return [HostSpec(name=f"sim-{i:03d}", address=address(i), **common) for i in range(count)]


def _state(fleet: SimulatedFleet, name: str) -> HostState:
    return fleet.states[name]
