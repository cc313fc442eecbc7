"""Alert text never becomes Slack markup, over real HTTP: an alert naming a service the config
does not know is refused; a host named `<!channel>` reaches every message, answer and timeline
line segbot sends as text, never as a mention or a link."""

from __future__ import annotations

import json

from slack_harness import ALERT_TOKEN, LocalRunner, Running

from bot.domain.containment import describe

AUTH = {"Authorization": f"Bearer {ALERT_TOKEN}"}
HOSTILE = ("<!channel>", "<https://evil.example|runbook>")


def _everything_sent(bot: Running) -> str:
    emulator = bot.emulator
    return json.dumps([list(emulator.messages.values()), emulator.ephemeral,
                       [c.topic for c in emulator.channels.values()]], default=str)


def test_an_alert_for_an_unknown_service_is_refused(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    for service in (*HOSTILE, "payments"):
        answer = bot.http.post(f"{bot.url}/alerts/generic", headers=AUTH,
                               json={"host": "node-17", "service": service})
        assert answer.status_code == 422, answer.text
    assert bot.store.list_incidents() == []


def test_a_hostile_host_name_is_sent_as_text(local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    for host in HOSTILE:
        answer = bot.http.post(f"{bot.url}/alerts/generic", headers=AUTH,
                               json={"host": host, "service": "checkout-api",
                                     "signal": "SIGSEGV"})
        assert answer.status_code == 200, answer.text
    bot.emulator.wait_for(lambda: bot.emulator.messages)
    assert bot.runtime.flows.updater.idle(10)
    place = bot.runtime.flows.slack_store.place(1)
    bot.slash("status", channel=place.channel)
    bot.emulator.wait_for(lambda: bot.emulator.ephemeral)
    sent = _everything_sent(bot)
    assert "&lt;!channel&gt;" in sent  # the host is there, as text
    for markup in HOSTILE:
        assert markup not in sent, markup
    timeline = [e.text for e in bot.store.incident_detail(1).timeline]
    assert not any(markup in t for t in timeline for markup in HOSTILE), timeline
    said = describe("restart_delay", {"service": "checkout-api", "host": "<!channel>"})
    assert "<!channel>" not in said and "&lt;!channel" in said
