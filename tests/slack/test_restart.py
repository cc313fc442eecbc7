"""The bot restarts mid-incident: the store is the truth. The same report message is edited
(not a new one), it still shows the decoded evidence, and the buttons posted before the restart
still work (their proposals are stored)."""

from __future__ import annotations

from pathlib import Path

from bot.app.diagnosis_feed import DiagnosisSetup
from tests.slack.bot_config import config
from tests.support.alert_payloads import am_alert, am_webhook
from tests.support.slack_emulator import running_emulator
from tests.support.slack_harness import ALERT_TOKEN, LocalRunner, buttons, message_text, running_bot


def test_restart_keeps_the_report_and_its_buttons(
        local_setup: tuple[DiagnosisSetup, LocalRunner, Path], tmp_path: Path) -> None:
    setup, _, binary = local_setup
    settings = config(binary, tmp_path / "evidence")
    with running_emulator() as emulator:
        emulator.usergroups["S0ONCALL"] = ["U0BOB"]
        with running_bot(tmp_path, settings, diagnosis=setup, emulator=emulator) as bot:
            bot.slash("node-17 checkout-api")
            emulator.wait_for(lambda: any(f["completed"] for f in emulator.files.values()), 30)
            assert bot.runtime.flows.updater.idle(10)
            channel, ts, before = bot.report()
        assert "SIGSEGV" in message_text(before)
        assert "*2* occurrence" in message_text(before)  # the two cores the diagnosis found

        with running_bot(tmp_path, settings, diagnosis=setup, emulator=emulator) as bot:
            alert = am_alert(host="node-17", n=1)  # a new crash (another pid)
            alert["annotations"]["description"] = (
                "checkout-api[24999]: segfault at 0000000000000038 ip 000055c1b2f9a4d2 sp "
                "00007ffd7b5d1a10 error 4 in checkout-api[55c1b2f82000+3e0000]")
            answer = bot.http.post(f"{bot.url}/alerts/alertmanager", json=am_webhook([alert]),
                                   headers={"Authorization": f"Bearer {ALERT_TOKEN}"})
            assert answer.status_code == 200
            emulator.wait_for(lambda: "*3* occurrence" in message_text(bot.report()[2]), 20)
            after = bot.report()[2]
            assert len(emulator.called("chat.postMessage")) == 1
            assert "SIGSEGV" in message_text(after) and "Backtrace" in message_text(after)
            resolve = buttons(after)["resolve"]
            assert resolve["value"] == buttons(before)["resolve"]["value"]
            bot.click(resolve, user="U0BOB", channel=channel, message_ts=ts)
            emulator.wait_for(lambda: any(e["user"] == "U0BOB" for e in emulator.ephemeral))
            assert bot.store.incident_detail(1).incident.status == "resolved"
