"""segbot serve's Slack side starts without Bolt's "`token` will be unused" warning: the bot
token reaches Bolt once (through the client), and leaves the process environment, so that the
commands segbot starts do not inherit it."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from slack_harness import BOT_TOKEN, SECRET

from bot.adapters.store import open_store
from bot.config import config_from
from bot.wiring.serve import slack_runtime


def test_no_token_warning_and_no_secret_left_in_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("SEGBOT_SLACK_API_URL", "http://127.0.0.1:9/api/")
    caplog.set_level(logging.DEBUG)
    store = open_store(f"sqlite:///{tmp_path / 'segbot.db'}")
    try:
        runtime = slack_runtime(store=store, config=config_from({
            "services": {}, "hosts": {}, "defaults": {"evidence_dir": str(tmp_path)}}))
        assert runtime is not None
        assert runtime.bolt.client.token == BOT_TOKEN
        assert "will be unused" not in caplog.text
        assert "SLACK_BOT_TOKEN" not in os.environ and "SLACK_SIGNING_SECRET" not in os.environ
        assert "SEGBOT_SLACK_API_URL" in os.environ  # not a secret: left alone
    finally:
        store.engine.dispose()
