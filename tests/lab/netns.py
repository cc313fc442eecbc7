"""Per-host network namespace: a veth pair on link-local 169.254.N.1 (CI machine) / .2 (host).

Only 169.254.0.0/16 is used, never 10/8, 172.16/12 or 192.168/16; N avoids 0, 169 (cloud
metadata lives at 169.254.169.254) and 255."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .commands import LabError, sh, sh_quiet

NETNS_DIR = Path("/run/netns")
PREFIX = "segbot-lab-"
USABLE = [n for n in range(10, 250) if n != 169]


@dataclass(frozen=True)
class HostNetwork:
    n: int

    @property
    def netns(self) -> str:
        return f"{PREFIX}{self.n}"

    @property
    def netns_path(self) -> Path:
        return NETNS_DIR / self.netns

    @property
    def outside_link(self) -> str:
        return f"sblab{self.n}"

    @property
    def outside_address(self) -> str:
        return f"169.254.{self.n}.1"

    @property
    def address(self) -> str:
        return f"169.254.{self.n}.2"


def _in_use(n: int) -> bool:
    if (NETNS_DIR / f"{PREFIX}{n}").exists() or Path(f"/sys/class/net/sblab{n}").exists():
        return True
    routes = sh(["ip", "-4", "route", "show", "to", "match", f"169.254.{n}.2"])
    return any(f"169.254.{n}." in line for line in routes.splitlines())


def allocate(taken: set[int]) -> HostNetwork:
    """Create the namespace and veth pair for the first free N; the host side is eth0."""
    for n in USABLE:
        if n in taken or _in_use(n):
            continue
        net = HostNetwork(n)
        try:
            sh(["ip", "netns", "add", net.netns])
        except LabError:
            continue  # raced with another session
        try:
            _wire(net)
        except LabError:
            release(net)
            raise
        return net
    raise LabError("no free 169.254.N.0/24 for a lab host")


def _wire(net: HostNetwork) -> None:
    ns = net.netns
    sh(["ip", "link", "add", net.outside_link, "type", "veth", "peer", "name", "eth0", "netns", ns])
    sh(["ip", "addr", "add", f"{net.outside_address}/24", "dev", net.outside_link])
    sh(["ip", "link", "set", net.outside_link, "up"])
    sh(["ip", "-n", ns, "addr", "add", f"{net.address}/24", "dev", "eth0"])
    sh(["ip", "-n", ns, "link", "set", "lo", "up"])
    sh(["ip", "-n", ns, "link", "set", "eth0", "up"])


def link_down(net: HostNetwork) -> None:
    """Cut the wire at the host's end: peers see silence, as with a host that lost power.

    The machine's end stays up (NO-CARRIER), so its route stays and packets die in the veth; an
    admin-down machine end would drop the route and send them out of the default route."""
    sh_quiet(["ip", "-n", net.netns, "link", "set", "eth0", "down"])


def release(net: HostNetwork) -> None:
    """Delete the veth pair and the namespace, and fence the address range off.

    Without the fence, traffic for a dead host's address would leave through the machine's
    default route; with it, clients get "No route to host" at once, as for a dead host."""
    sh_quiet(["ip", "link", "del", net.outside_link])
    sh_quiet(["ip", "netns", "del", net.netns])
    sh_quiet(["ip", "route", "replace", "unreachable", f"169.254.{net.n}.0/24"])


def unfence(n: int) -> None:
    """Drop the fence of a released host's range (at session end)."""
    sh_quiet(["ip", "route", "del", "unreachable", f"169.254.{n}.0/24"])
