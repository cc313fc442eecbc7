"""The first ten seconds of a `/segfault` incident: the first post already names the signal and
the host (it waits briefly for the diagnosis's first result), and the channel is renamed after
the signal (`-ID` when that name is taken), on the timeline."""

from __future__ import annotations

import time

from slack_emulator import Channel
from slack_harness import LocalRunner, Running, message_text


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
