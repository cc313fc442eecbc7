"""The /segfault grammar: only configured hosts and services pass; any other text gets a
reason, never an error, and is never echoed as Slack markup; channel names obey Slack."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.slack.channel_names import channel_name
from bot.app.slash_grammar import Decode, Diagnose, Help, IncidentVerb, Invalid, parse

SERVICES = {"checkout-api": ("node-17", "node-18"), "pgbouncer": ("db-3",)}


def test_the_verbs() -> None:
    assert parse("node-17 checkout-api", services=SERVICES) == Diagnose("node-17",
                                                                         "checkout-api")
    assert parse("  HELP ", services=SERVICES) == Help()
    assert parse("", services=SERVICES) == Help()
    assert parse("status", services=SERVICES) == IncidentVerb("status", None)
    assert parse("resolve #12", services=SERVICES) == IncidentVerb("resolve", 12)
    assert parse("postmortem 3", services=SERVICES) == IncidentVerb("postmortem", 3)
    assert parse("commander", services=SERVICES) == IncidentVerb("commander", None)
    assert parse("decode  a\nb", services=SERVICES) == Decode("a\nb")


def test_refusals_explain() -> None:
    for text, why in [("db-3 checkout-api", "not one of checkout-api's hosts"),
                      ("node-17 nginx", "unknown service"),
                      ("node-17 checkout-api extra", "expected"),
                      ("`reboot` checkout-api", "not a host name"),
                      ("status 12 13", "takes an incident number"),
                      ("decode", "needs the pasted text"),
                      ("decode " + "x" * 50_000, "paste at most")]:
        result = parse(text, services=SERVICES)
        assert isinstance(result, Invalid) and why in result.reason, (text, result)


@given(st.text(max_size=300))
def test_any_text_is_parsed_safely(text: str) -> None:
    result = parse(text, services=SERVICES)
    if isinstance(result, Diagnose):
        assert result.host in SERVICES[result.service]
    if isinstance(result, Invalid):
        assert "<" not in result.reason and ">" not in result.reason


@given(prefix=st.text(max_size=40), service=st.text(max_size=120),
       signal=st.none() | st.text(max_size=40), attempt=st.integers(0, 5),
       incident=st.integers(1, 10**9))
def test_channel_names_follow_slack_rules(prefix: str, service: str, signal: str | None,
                                          attempt: int, incident: int) -> None:
    name = channel_name(prefix=prefix, opened_at=datetime(2026, 11, 26, tzinfo=UTC),
                        service=service, signal=signal, attempt=attempt, incident_id=incident)
    assert re.fullmatch(r"[a-z0-9_-]{1,80}", name), name
    assert "-20261126-" in name
    if attempt:
        assert name != channel_name(prefix=prefix, opened_at=datetime(2026, 11, 26, tzinfo=UTC),
                                    service=service, signal=signal, attempt=0,
                                    incident_id=incident)


def test_channel_name_reads_like_the_incident() -> None:
    assert channel_name(prefix="inc", opened_at=datetime(2026, 11, 26, tzinfo=UTC),
                        service="Checkout_API.v2", signal="SIGSEGV") == (
        "inc-20261126-checkout_api-v2-sigsegv")
