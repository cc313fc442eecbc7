"""The first ten seconds of a `/segfault` incident: the first post already names the signal and
the host (it waits briefly for the diagnosis's first result), and the channel is renamed after
the signal (`-ID` when that name is taken), on the timeline."""

from __future__ import annotations

import time

from tests.support.slack_emulator import Channel
from tests.support.slack_harness import LocalRunner, Running, message_text


def _today() -> str:
    return time.strftime("%Y%m%d", time.gmtime())


def test_first_post_names_signal_and_host_and_the_channel_its_signal(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    asked = time.monotonic()
    bot.slash("node-17 checkout-api")
    bot.emulator.wait_for(lambda: bot.emulator.called("chat.postMessage"))
    post = bot.emulator.called("chat.postMessage")[0]
    assert "SIGSEGV" in post.args["text"] and "node-17" in message_text(post.args)
    assert "*" not in post.args["text"]  # a phone shows the notification as plain text
    bot.emulator.wait_for(lambda: bot.emulator.called("conversations.rename"))
    [channel] = bot.emulator.channels.values()
    assert channel.name == f"inc-{_today()}-checkout-api-sigsegv"
    print(f"\nfirst post {post.at - asked:.2f}s after /segfault: {post.args['text'][:70]!r}")
    bot.emulator.wait_for(lambda: any(
        "renamed to #inc-" in e.text for e in bot.store.incident_detail(1).timeline))


def test_a_taken_name_gets_the_incident_suffix(local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    taken = f"inc-{_today()}-checkout-api-sigsegv"
    bot.emulator.channels["C0OLD"] = Channel(id="C0OLD", name=taken)  # yesterday's incident
    bot.slash("node-17 checkout-api")
    bot.emulator.wait_for(lambda: bot.emulator.called("conversations.rename"))
    bot.emulator.wait_for(lambda: any(
        c.name == f"{taken}-1" for c in bot.emulator.channels.values()))
    assert bot.emulator.channels["C0OLD"].name == taken


def test_how_long_the_first_post_waits() -> None:
    from datetime import UTC, datetime

    from bot.app.first_signal import SITE, first_post_wait, level
    from bot.app.report_view import HostProgress
    from bot.domain.decode import decode_text
    from bot.domain.incident import Incident, Status

    now = datetime(2026, 1, 22, 3, 12, tzinfo=UTC)
    site = decode_text("checkout-api[24891]: segfault at 38 ip 000055c1b2f9a4d2 sp "
                       "00007ffd7b5d1a10 error 4 in checkout-api[55c1b2f82000+3e0000]", now=now)
    assert level(site) == SITE
    asked = Incident(1, "checkout-api", None, Status.INVESTIGATING, 0, (), now, now)
    alerted = Incident(2, "checkout-api", "SIGSEGV checkout-api+0x184d2", Status.INVESTIGATING,
                       1, ("node-17",), now, now)
    running = (HostProgress("node-17", 21, 3, ("kernel",), (), False, None),)
    done = (HostProgress("node-17", 21, 21, (), (), True, None),)

    def wait(incident: Incident, **given: object) -> float:
        args: dict[str, object] = {"report": None, "progress": running, "diagnosing": True,
                                   "waited": 0.5, "wait": 2.0, **given}
        return first_post_wait(incident=incident, **args)  # type: ignore[arg-type]

    assert wait(asked) == 1.5  # nothing known yet: wait for the diagnosis
    assert wait(asked, report=site) == 0.0  # the crash site is known: post
    assert wait(alerted) == 0.0  # the alert named the signal: post at once
    assert wait(asked, progress=done) == 0.0  # the diagnosis ended without a crash
    assert wait(asked, diagnosing=False) == 0.0
    assert wait(asked, waited=2.5) < 0  # waited long enough
