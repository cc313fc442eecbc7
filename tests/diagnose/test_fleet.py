"""Blast radius and configuration-drift leads across a service's hosts."""

from __future__ import annotations

from bot.app.diagnose import HostDiagnosis, StepOutcome
from bot.app.fleet import blast_radius, drift_leads, normalized
from bot.config import load_playbook_file

BOOK = load_playbook_file()
LDD_OLD = "libssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x00007f2b8e600000)\n"
LDD_NEW = "libssl.so.3 => /opt/ssl/lib/libssl.so.3 (0x00007f11aa000000)\n"


def host(name: str, *, crashed: bool, ldd: str, kernel: str = "Linux 6.1.0-18-amd64",
         reached: bool = True) -> HostDiagnosis:
    status = "ok" if reached else "skipped"
    steps = tuple(
        StepOutcome(step=s.id, title=s.title, status=status,  # type: ignore[arg-type]
                    output={"ldd": ldd, "kernel_version": kernel}.get(s.id, "x"))
        for s in BOOK.steps)
    return HostDiagnosis(host=name, service="checkout-api", steps=steps,
                         captured={"pid": "1"} if crashed else {})


def test_blast_radius_groups_hosts() -> None:
    fleet = [host("a", crashed=True, ldd=LDD_NEW), host("b", crashed=False, ldd=LDD_OLD),
             host("c", crashed=False, ldd=LDD_OLD, reached=False)]
    radius = blast_radius(fleet)
    assert (radius.crashing, radius.healthy, radius.unreachable) == (("a",), ("b",), ("c",))


def test_a_library_only_crashing_hosts_have_is_a_lead() -> None:
    fleet = [host("a", crashed=True, ldd=LDD_NEW), host("b", crashed=True, ldd=LDD_NEW),
             host("c", crashed=False, ldd=LDD_OLD)]
    [lead] = drift_leads(fleet, BOOK)
    assert lead.step == "ldd"
    assert lead.crashing[0][1] == ("a", "b") and lead.healthy[0][1] == ("c",)
    assert "configuration drift" in lead.text and "/opt/ssl/lib" in lead.text


def test_load_addresses_are_not_drift() -> None:
    moved = LDD_OLD.replace("0x00007f2b8e600000", "0x00007fffaa000000")
    fleet = [host("a", crashed=True, ldd=moved), host("b", crashed=False, ldd=LDD_OLD)]
    assert drift_leads(fleet, BOOK) == []
    assert normalized(moved) == normalized(LDD_OLD)


def test_no_lead_when_a_healthy_host_shares_the_value() -> None:
    fleet = [host("a", crashed=True, ldd=LDD_NEW), host("b", crashed=False, ldd=LDD_NEW),
             host("c", crashed=False, ldd=LDD_OLD)]
    assert drift_leads(fleet, BOOK) == []
