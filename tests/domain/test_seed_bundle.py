"""The seed playbook's 15 outputs pasted together, prompts and all, and what the decoder
makes of them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.decode import decode_text
from bot.domain.report_json import report_to_dict

BUNDLE = Path(__file__).resolve().parents[2] / "examples" / "seed-bundle.txt"


@pytest.fixture(scope="module")
def decoded() -> dict:  # type: ignore[type-arg]
    return report_to_dict(decode_text(BUNDLE.read_text(), now=datetime(2026, 1, 22, 4, tzinfo=UTC)))


def _facts(decoded: dict, kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [f for f in decoded["facts"] if f["kind"] == kind]


def test_one_merged_crash_for_pid_24891(decoded: dict) -> None:  # type: ignore[type-arg]
    crashes = [c for c in decoded["crashes"] if c["pid"] == 24891]
    assert len(crashes) == 1
    crash = crashes[0]
    assert {"kernel", "coredump", "gdb", "systemd"} <= set(crash["sources"])
    assert crash["signal"] == "SIGSEGV"
    assert crash["fault_address"] == "0x38"
    assert crash["ip"] == "0x55c1b2f9a4d2"
    assert crash["module"] == "checkout-api"
    assert crash["module_base"] == "0x55c1b2f82000"
    assert crash["module_offset"] == "0x184d2"
    assert (crash["access"], crash["cause"], crash["mode"]) == ("read", "not-present", "user")
    assert crash["build_id"] == "9b7c6fd3b2a9cdb5d3d1c9e0a4f2f7aa12c0f2ab"


def test_both_cores_listed(decoded: dict) -> None:  # type: ignore[type-arg]
    cores = {f["pid"]: f["corefile"] for f in _facts(decoded, "core_file")}
    assert cores == {24602: "present", 24891: "present"}


def test_host_facts(decoded: dict) -> None:  # type: ignore[type-arg]
    policy = _facts(decoded, "restart_policy")[0]
    assert (policy["restart"], policy["restart_usec"], policy["n_restarts"]) == (
        "always",
        200_000,
        37,
    )
    assert [f["count"] for f in _facts(decoded, "restart_counter")] == [6]
    assert _facts(decoded, "core_limit")[0]["soft"] == 0
    storage = _facts(decoded, "coredump_storage")[0]
    assert storage["process_size_max"] == storage["external_size_max"] == 2 * 1024**3
    assert storage["max_use"] == 8 * 1024**3 and storage["keep_free"] == 2 * 1024**3
    assert _facts(decoded, "oom_kill") == []
    assert {(d["mount"], d["use_percent"]) for d in _facts(decoded, "disk_usage")} >= {("/var", 98)}
    request = _facts(decoded, "request")[0]
    assert (request["request_id"], request["path"]) == ("9f2b4d1f", "/checkout/confirm")


def test_deploy_and_flag(decoded: dict) -> None:  # type: ignore[type-arg]
    deploy = _facts(decoded, "deploy")[0]
    assert (deploy["version"], deploy["git"]) == ("2.18.7", "9b7c6fd3")
    flag = _facts(decoded, "feature_flag")[0]
    assert (flag["name"], flag["state"]) == ("pricing_v4", "on")
    assert flag["time"].startswith("2026-01-22T02:58:44")


def test_conclusions(decoded: dict) -> None:  # type: ignore[type-arg]
    assert decoded["classification"]["kind"] == "null-deref"
    assert decoded["signature"] == "SIGSEGV checkout-api+0x184d2"
    actions = [r["action"] for r in decoded["recommendations"]]
    assert {"restart_delay", "raise_core_limit", "free_disk", "disable_flag", "rollback"} <= set(
        actions
    )
    assert actions.index("restart_delay") < actions.index("rollback")
    assert actions.index("disable_flag") < actions.index("rollback")
    assert decoded["unrecognized_lines"] == 0
