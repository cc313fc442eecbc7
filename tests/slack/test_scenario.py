"""An incident as the on-call engineer lives it, over real HTTP against the Slack emulator:
/segfault node-17 checkout-api -> a channel with the on-call group -> the report posted, then
edited in place as the playbook runs (the decoded kernel line first, long before gdb is done)
-> an unauthorized click refused -> an authorized double click executes once."""

from __future__ import annotations

import threading
import time

from bot.domain.incident import Status
from tests.slack.bot_config import ONCALL
from tests.support.slack_harness import SECRETS, LocalRunner, Running, buttons, message_text


def _report_versions(bot: Running) -> list[tuple[float, str]]:
    """Every version of the report Slack was sent, with the (monotonic) time it was sent."""
    return [(c.at, message_text(c.args)) for c in bot.emulator.calls
            if c.method in {"chat.postMessage", "chat.update"} and c.status == 200]


def test_slash_command_to_guarded_buttons(local_bot: tuple[Running, LocalRunner]) -> None:
    bot, runner = local_bot
    emulator = bot.emulator
    started = time.monotonic()
    answer = bot.slash("node-17 checkout-api")
    assert answer.status_code == 200 and time.monotonic() - started < 3.0
    assert "Opening the incident" in answer.json()["text"]

    # The channel: named by Slack's rules, the on-call group and the requester invited.
    emulator.wait_for(lambda: emulator.called("conversations.setTopic"))
    [channel] = emulator.channels.values()
    # `-crash` until the diagnosis finds the signal (test_first_signal: then renamed after it)
    assert channel.name in {f"inc-{time.strftime('%Y%m%d', time.gmtime())}-checkout-api-{s}"
                            for s in ("crash", "sigsegv")}
    assert {"U0ALICE", *ONCALL} <= channel.members
    assert "Incident #1" in channel.topic

    # The report: posted once, then edited in place until the evidence file is in the thread.
    emulator.wait_for(lambda: any(f["completed"] for f in emulator.files.values()), 30)
    emulator.wait_for(lambda: "evidence-node-17.txt" in bot.report()[2].get("blocks", "")
                      .__str__(), 10)
    assert len(emulator.called("chat.postMessage")) == 1
    channel_id, ts, message = bot.report()
    assert channel_id == channel.id and message["edits"] >= 2
    final = message_text(message)
    assert "SIGSEGV" in final and "0x38" in final and "restart storm" in final, final
    assert "Backtrace" in final

    # The decoded kernel line reached Slack before the playbook's slow gdb steps finished.
    gdb_done = max(t for command, t in runner.finished.items() if "gdb" in command)
    first_decoded = min(at for at, text in _report_versions(bot)
                        if "0x38" in text and "SIGSEGV" in text)
    assert first_decoded < gdb_done - 1.0, (first_decoded, gdb_done)
    print(f"\nlocal: decoded kernel line in Slack {first_decoded - started:.2f}s after "
          f"/segfault, playbook's gdb done at {gdb_done - started:.2f}s, "
          f"{message['edits']} edits")

    [upload] = [f for f in emulator.files.values() if f["completed"]]
    assert upload["thread_ts"] == ts and b"dmesg -T" in upload["content"]
    assert (channel_id, ts) in emulator.pins
    # The service logged a password and a token: redacted before anything reached Slack.
    assert b"[REDACTED]" in upload["content"]
    sent = repr([c.args for c in emulator.calls]) + repr([f["content"] for f in
                                                          emulator.files.values()])
    assert not any(secret in sent for secret in SECRETS)

    # Alice asked for the incident but is not on call: her click on Resolve is refused.
    resolve = buttons(message)["resolve"]
    assert resolve["confirm"]["style"] == "danger"
    refused = bot.click(resolve, user="U0ALICE", channel=channel_id, message_ts=ts)
    assert refused.status_code == 200
    emulator.wait_for(lambda: any("Not allowed" in e.get("text", "")
                                  for e in emulator.ephemeral if e["user"] == "U0ALICE"))
    incident = bot.store.incident_detail(1)
    assert incident.incident.status is Status.INVESTIGATING
    # Diagnosis named the crash and its decoded report is kept with the incident.
    assert incident.incident.signature and [h for h, _ in incident.reports] == ["node-17"]
    assert any("U0ALICE" in e.text and "refused" in e.text for e in incident.timeline)

    # Bob is on call and double-clicks: both clicks arrive at once, it is resolved once.
    clicks = [threading.Thread(target=bot.click, args=(resolve,),
                               kwargs={"user": "U0BOB", "channel": channel_id,
                                       "message_ts": ts}) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join()
    emulator.wait_for(lambda: sum(1 for e in emulator.ephemeral if e["user"] == "U0BOB") == 2)
    bob = [e["text"] for e in emulator.ephemeral if e["user"] == "U0BOB"]
    assert sum("done" in t and "already" not in t for t in bob) == 1, bob
    assert sum("already" in t for t in bob) == 1, bob
    detail = bot.store.incident_detail(1)
    assert detail.incident.status is Status.RESOLVED
    status_changes = [e for e in detail.timeline if e.kind == "status"]
    assert len(status_changes) == 1 and status_changes[0].actor == "U0BOB"
    clicks_seen = [e for e in detail.timeline if e.kind == "click"]
    assert len(clicks_seen) == 3  # Alice refused, Bob allowed, Bob's repeat refused

    # The message says who did what, and the buttons that no longer apply are gone.
    def settled() -> bool:
        text = message_text(bot.report()[2])
        return "U0BOB" in text and "resolved" in text and not buttons(bot.report()[2])
    emulator.wait_for(settled, 10)
    assert emulator.violations == []


def test_ack_answers_hostile_text_without_touching_anything(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, runner = local_bot
    for text, reason in [
        ("node-17;reboot checkout-api", "is not a host name"),
        ("$(id) checkout-api", "is not a host name"),
        ("node-17 <@U0BOB>", "is not a service name"),
        ("node-99 checkout-api", "is not one of checkout-api's hosts"),
        ("node-17 payments", "unknown service"),
        ("status 1; drop", "takes an incident number"),
    ]:
        answer = bot.slash(text)
        assert answer.status_code == 200
        body = answer.json()
        assert body["response_type"] == "ephemeral" and reason in body["text"], (text, body)
        assert "<@" not in body["text"]  # never echoed as markup
    time.sleep(0.3)
    assert not bot.emulator.channels and not runner.finished
