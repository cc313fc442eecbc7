"""The segbot configuration the Slack tests serve: two local hosts, one service, on-call rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

ONCALL = ["U0BOB", "U0CAROL"]


def config(binary: Path, evidence: Path) -> dict[str, Any]:
    return {
        "defaults": {"evidence_dir": str(evidence), "run_timeout": 60},
        "hosts": {"node-17": {"address": "127.0.0.1"}, "node-18": {"address": "127.0.0.2"}},
        "services": {"checkout-api": {"unit": "checkout-api.service", "binary": str(binary),
                                      "hosts": ["node-17", "node-18"]}},
        "slack": {"incident_channel_prefix": "inc", "oncall_usergroup": "S0ONCALL",
                  "report_min_interval_seconds": 0.25, "report_global_interval_seconds": 0.05,
                  "poll_seconds": 0.2},
        "authorization": {"resolve": ["S0ONCALL"], "rerun": ["U0ALICE", "S0ONCALL"],
                          "rollback": ["S0ONCALL"]},
    }
