"""The other ways in, end to end through signed payloads and the Web API emulator: `/segfault`
alone and the global shortcut open a form (service, then that service's hosts, a note); "Decode
crash" on a pasted message answers in its thread, to the asker only; the App Home tab lists the
open incidents. Every one of them is authorized as `/segfault HOST SERVICE` is."""

from __future__ import annotations

import json
from typing import Any

from tests.support.slack_harness import LocalRunner, Running, message_text

KERNEL = ("Jan 22 03:11:06 node-17 kernel: checkout-api[24891]: segfault at 38 ip "
          "000055c1b2f9a4d2 sp 00007ffd7b5d1a10 error 4 in checkout-api[55c1b2f82000+3e0000]")


def _answers(bot: Running, user: str) -> list[str]:
    return [e.get("text", "") for e in bot.emulator.ephemeral if e["user"] == user]


def _form(bot: Running) -> dict[str, Any]:
    bot.emulator.wait_for(lambda: bot.emulator.views)
    return list(bot.emulator.views.values())[-1]


def _selects(view: dict[str, Any]) -> dict[str, list[str]]:
    return {b["element"]["action_id"]: [o["value"] for o in b["element"].get("options", ())]
            for b in view["blocks"] if b["type"] == "input"}


def _state(view: dict[str, Any], service: str, host: str | None = None,
           note: str = "") -> dict[str, Any]:
    values: dict[str, Any] = {"service": {"service": {
        "type": "static_select", "selected_option": {"value": service}}},
        "note": {"note": {"type": "plain_text_input", "value": note}}}
    if host is not None:
        values[f"host:{service}"] = {"host": {"type": "static_select",
                                              "selected_option": {"value": host}}}
    return {"values": values}


def _submit(bot: Running, view: dict[str, Any], user: str, service: str, host: str,
            note: str = "") -> Any:
    return bot.interact({"type": "view_submission", "user": {"id": user},
                         "view": {**view, "state": _state(view, service, host, note)}})


def test_slash_alone_opens_the_form_and_its_submission_is_the_command(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    assert bot.slash("").status_code == 200
    view = _form(bot)
    assert view["callback_id"] == "segfault_diagnose"
    # One service configured: it is chosen, and the host list is that service's hosts.
    assert _selects(view) == {"service": ["checkout-api"], "host": ["node-17", "node-18"],
                              "note": []}
    # Picking the service again redraws the form with its hosts (views.update).
    bot.interact({"type": "block_actions", "user": {"id": "U0ALICE"}, "view": {
        **view, "hash": "h1", "state": _state(view, "checkout-api")}, "actions": [{
            "type": "static_select", "action_id": "service", "block_id": "service",
            "selected_option": {"value": "checkout-api"}}]})
    bot.emulator.wait_for(lambda: bot.emulator.called("views.update"))

    bot.slash("", user="U0MALLORY")  # her own form: only she can submit it
    bot.emulator.wait_for(lambda: len(bot.emulator.views) == 2)
    refused = _submit(bot, _form(bot), "U0MALLORY", "checkout-api", "node-17")
    assert refused.status_code == 200
    bot.emulator.wait_for(lambda: _answers(bot, "U0MALLORY"))
    assert _answers(bot, "U0MALLORY")[0].startswith("Not allowed")
    assert not bot.emulator.channels

    wrong = _submit(bot, view, "U0ALICE", "checkout-api", "node-99")
    assert wrong.json()["response_action"] == "errors"

    _submit(bot, view, "U0ALICE", "checkout-api", "node-17", note="paged at 03:12, Alice on it")
    bot.emulator.wait_for(lambda: any("Incident #1 opened" in a
                                      for a in _answers(bot, "U0ALICE")))
    assert bot.emulator.ephemeral[-1]["via"] == "response_url"  # in the channel it was typed
    bot.emulator.wait_for(lambda: any(  # the note follows the answer
        e.kind == "note" and "Alice on it" in e.text and e.actor == "U0ALICE"
        for e in bot.store.incident_detail(1).timeline))
    timeline = bot.store.incident_detail(1).timeline
    audit = [e for e in timeline if e.kind == "command"]
    assert audit and audit[0].text == "/segfault node-17 checkout-api"
    assert bot.emulator.violations == []


def test_the_global_shortcut_opens_the_form_and_answers_in_a_direct_message(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    bot.interact({"type": "shortcut", "callback_id": "segfault_open",
                  "user": {"id": "U0BOB"}})
    view = _form(bot)
    _submit(bot, view, "U0BOB", "checkout-api", "node-18")
    bot.emulator.wait_for(lambda: bot.emulator.dms)
    assert bot.emulator.dms[0]["channel"] == "U0BOB"
    assert "Incident #1 opened" in bot.emulator.dms[0]["text"]


def test_decode_crash_answers_in_the_thread_to_the_asker_with_an_incident_button(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    bot.emulator.served_files["crash.log"] = KERNEL.encode()
    message = {"type": "message", "ts": "1769051400.000200", "user": "U0CAROL",
               "text": "checkout is down again, log attached", "files": [{
                   "id": "F1", "name": "crash.log", "mimetype": "text/plain", "size": 300,
                   "url_private_download": f"{bot.emulator.base}/files/crash.log"}, {
                   "id": "F2", "name": "elsewhere.log", "mimetype": "text/plain", "size": 10,
                   "url_private_download": "http://169.254.169.254/latest"}]}
    bot.interact({"type": "message_action", "callback_id": "decode_crash",
                  "user": {"id": "U0ALICE"}, "channel": {"id": "C0OPS", "name": "ops"},
                  "message_ts": message["ts"], "message": message,
                  "response_url": f"{bot.emulator.base}/response/U0ALICE"})
    bot.emulator.wait_for(lambda: bot.emulator.ephemeral)
    [answer] = bot.emulator.ephemeral
    assert answer["user"] == "U0ALICE" and answer["thread_ts"] == message["ts"]
    shown = message_text(answer)
    assert "SIGSEGV" in shown and "0x38" in shown
    # Only Slack's own file host is read (with the bot token): never a URL from a message.
    assert [c.args["name"] for c in bot.emulator.calls if c.method == "files.download"] == [
        "crash.log"]
    blocks = json.loads(answer["blocks"]) if isinstance(answer["blocks"], str) else answer[
        "blocks"]
    [button] = [e for b in blocks for e in b.get("elements") or () if e.get("type") == "button"]
    assert json.loads(button["value"]) == {"service": "checkout-api", "host": "node-17"}

    def click(user: str) -> None:
        bot.interact({"type": "block_actions", "user": {"id": user},
                      "channel": {"id": "C0OPS"}, "container": {
                          "type": "message", "channel_id": "C0OPS", "is_ephemeral": True},
                      "response_url": f"{bot.emulator.base}/response/{user}",
                      "actions": [{"type": "button", "action_id": "open_incident",
                                   "value": button["value"], "block_id": "b"}]})

    click("U0MALLORY")
    bot.emulator.wait_for(lambda: _answers(bot, "U0MALLORY"))
    assert _answers(bot, "U0MALLORY")[0].startswith("Not allowed")
    assert not bot.emulator.channels
    click("U0ALICE")
    bot.emulator.wait_for(lambda: any("Incident #1 opened" in a
                                      for a in _answers(bot, "U0ALICE")))


def test_decode_crash_where_segbot_is_not_a_member_answers_through_response_url(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    bot.emulator.outside.add("C0ELSEWHERE")
    bot.interact({"type": "message_action", "callback_id": "decode_crash",
                  "user": {"id": "U0CAROL"}, "channel": {"id": "C0ELSEWHERE"},
                  "message": {"type": "message", "ts": "1769051400.000300", "text": KERNEL},
                  "response_url": f"{bot.emulator.base}/response/U0CAROL"})
    bot.emulator.wait_for(lambda: _answers(bot, "U0CAROL"))
    [answer] = bot.emulator.ephemeral
    assert answer["via"] == "response_url" and "SIGSEGV" in message_text(answer)


def test_app_home_lists_open_incidents_for_who_may_see_them(
        local_bot: tuple[Running, LocalRunner]) -> None:
    bot, _ = local_bot
    bot.slash("node-17 checkout-api")
    bot.emulator.wait_for(lambda: any(f["completed"] for f in bot.emulator.files.values()), 30)
    assert bot.runtime.flows.updater.idle(10)
    [channel] = bot.emulator.channels
    bot.event({"type": "app_home_opened", "user": "U0BOB", "tab": "home", "channel": "D0BOB"})
    bot.emulator.wait_for(lambda: "U0BOB" in bot.emulator.home)
    home = json.dumps(bot.emulator.home["U0BOB"])
    assert bot.emulator.home["U0BOB"]["type"] == "home"
    for shown in ("#1*", "checkout-api", "investigating", "SIGSEGV", "node-17", f"<#{channel}>",
                  "Top signatures"):
        assert shown in home, (shown, home)
    bot.event({"type": "app_home_opened", "user": "U0MALLORY", "tab": "home"}, "Ev0002")
    bot.emulator.wait_for(lambda: "U0MALLORY" in bot.emulator.home)
    assert "checkout-api" not in json.dumps(bot.emulator.home["U0MALLORY"])
    assert bot.emulator.violations == []
