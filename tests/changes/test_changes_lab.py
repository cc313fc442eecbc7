"""The scripted incident on a real lab host: a deploy event that names the binary's real
build-id, a flag change event, then the host's crash loop diagnosed over SSH while Slack (the
emulator) watches. The report names the exact release by build-id, the flag change and its
time, the suspect commit that touched the crashing function (a real git repository of the
service's source), and offers to roll back to the last version without the signature; the
postmortem carries the same. Needs root and the lab (skipped without)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.domain.postmortem import draft_postmortem
from bot.domain.postmortem_render import to_markdown
from tests.changes.git_repo import git
from tests.lab.host import LabHost
from tests.support.slack_harness import ALERT_TOKEN, buttons, message_text, running_bot

pytestmark = pytest.mark.lab
SOURCE = Path(__file__).resolve().parents[1] / "lab" / "csrc" / "checkout_api.c"
BUILD_ID = re.compile(r"Build ID: ([0-9a-f]+)")


def service_repo(path: Path) -> dict[str, str]:
    """checkout-api's history: 2.18.6 priced v4 carts without rules; the commit that added
    the per-currency rule lookup (the NULL the lab's crash reads through) came in 2.18.7."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    real = SOURCE.read_text()
    before = re.sub(r"(static long price_v4\(const struct cart \*cart\)\n\{\n).*?(\n\})",
                    r"\1    return cart->subtotal_cents;\2", real, count=1, flags=re.S)
    assert before != real
    commits: dict[str, str] = {}
    for name, author, when, text, readme, message in (
            ("2.18.6", "Ops Bot", "2026-01-19T10:00:00Z", before, "checkout-api\n",
             "release 2.18.6"),
            ("rules", "Carol Coder", "2026-01-20T09:30:00Z", real, "checkout-api\n",
             "pricing: per-currency discount rules for v4"),
            ("2.18.7", "Dan Docs", "2026-01-20T11:00:00Z", real,
             "checkout-api\n\nv4 pricing is behind pricing_v4.\n", "docs: pricing_v4")):
        (path / "csrc").mkdir(exist_ok=True)
        (path / "csrc" / "checkout_api.c").write_text(text)
        (path / "README.md").write_text(readme)
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", message, author=author, when=when)
        commits[name] = git(path, "rev-parse", "HEAD")
    return commits


def config(host: LabHost, tmp_path: Path) -> dict[str, Any]:
    return {
        "defaults": {"evidence_dir": str(tmp_path / "evidence"), "run_timeout": 120},
        "hosts": {host.name: host.ssh_config_entry()},
        "services": {"checkout-api": {
            "unit": "checkout-api.service", "binary": "/opt/checkout/bin/checkout-api",
            "hosts": [host.name],
            "changes": {"repo": str(tmp_path / "repo"), "flags": ["pricing_v4"]},
            "actions": {"rollback": {
                "command": "sudo -n /usr/local/sbin/release-switch {to_version}"}}}},
        "slack": {"oncall_usergroup": "S0ONCALL", "report_min_interval_seconds": 0.25,
                  "report_global_interval_seconds": 0.05, "poll_seconds": 0.2},
        "authorization": {"rollback": ["S0ONCALL"], "diagnose": ["U0ALICE"]},
    }


def test_deploy_and_flag_events_name_the_release_the_flag_and_the_suspect(
        lab_host_factory: Any, tmp_path: Path) -> None:
    host: LabHost = lab_host_factory("chg-lab")
    commits = service_repo(tmp_path / "repo")
    found = BUILD_ID.search(host.run(["readelf", "-n", "/opt/checkout/bin/checkout-api"],
                                     check=True).stdout)
    assert found is not None
    build_id = found.group(1)
    now = datetime.now(UTC).replace(microsecond=0)
    deployed, flipped = now - timedelta(minutes=10), now - timedelta(minutes=4)
    events = [
        {"service": "checkout-api", "kind": "deploy", "version": "2.18.6",
         "commit": commits["2.18.6"], "build_ids": ["ab" * 20], "by": "deploy-bot",
         "time": (now - timedelta(days=2)).isoformat()},
        {"service": "checkout-api", "kind": "deploy", "version": "2.18.7",
         "commit": commits["2.18.7"], "build_ids": [build_id], "hosts": [host.name],
         "by": "deploy-bot", "time": deployed.isoformat(), "id": "deploy-2-18-7"},
        {"service": "checkout-api", "kind": "flag", "flag": "pricing_v4", "state": "on",
         "by": "alice", "time": flipped.isoformat()}]
    host.wait_for_crashes(1)
    with running_bot(tmp_path, config(host, tmp_path)) as bot:
        for event in events:
            answer = httpx.post(f"{bot.url}/changes/generic", json=event, timeout=30,
                                headers={"Authorization": f"Bearer {ALERT_TOKEN}"})
            assert answer.json() == {"stored": 1, "duplicates": 0}, answer.text
        emulator = bot.emulator
        assert bot.slash(f"{host.name} checkout-api").status_code == 200
        emulator.wait_for(lambda: any(f["completed"] for f in emulator.files.values()), 180)
        emulator.wait_for(lambda: "suspect commit" in message_text(bot.report()[2]), 30)
        assert bot.runtime.flows.updater.idle(10)
        report = "\n".join(str((b.get("text") or {}).get("text", ""))
                           for b in bot.report()[2]["blocks"])
        print("\n" + report)
        assert (f"the crashing binary is 2.18.7, deployed {deployed:%Y-%m-%d %H:%M} UTC by "
                f"deploy-bot (commit {commits['2.18.7'][:8]}): build-id {build_id[:16]}"
                in report)
        assert (f"flag pricing_v4 on by alice at {flipped:%H:%M:%S} UTC" in report)
        assert f"suspect commit 1: {commits['rules'][:10]} pricing: per-currency discount " \
               "rules for v4 — Carol Coder" in report
        assert "price_v4()" in report
        assert "roll back to 2.18.6: the last version without this signature" in report
        # the deploy and the flag join the report's changes; the rollback goes to 2.18.6
        assert "build-id matches the crashing binary" in report
        offered = buttons(bot.report()[2])
        # rollback is configured and authorized; disable_flag is neither: not offered
        assert "rollback" in offered and "disable_flag" not in offered, sorted(offered)
        rollback = next(p for p in bot.runtime.flows.slack_store.proposals(1)
                        if p.action == "rollback" and p.state == "open")
        assert dict(rollback.target) == {"service": "checkout-api", "version": "2.18.7",
                                         "to_version": "2.18.6"}
        detail = bot.store.incident_detail(1)
        markdown = to_markdown(draft_postmortem(detail))
        assert "## Release, changes and suspect commits" in markdown
        assert f"suspect commit 1: {commits['rules'][:10]} pricing: per-currency" in markdown
        assert "roll back to 2.18.6" in markdown and "the crashing binary is 2.18.7" in markdown
        assert emulator.violations == []
