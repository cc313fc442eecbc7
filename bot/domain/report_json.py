"""The decoded report as JSON, in the shape tests/schemas/decoded-evidence.schema.json gives;
addresses as hex strings ("0x38")."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from bot.domain import siginfo
from bot.domain.crash import Crash
from bot.domain.evidence import Fact, Frame
from bot.domain.report import DecodedReport

_HEX_FIELDS = {
    "fault_address",
    "ip",
    "sp",
    "module_base",
    "module_offset",
    "file_offset",
    "address",
    "function_offset",
    "start",
    "end",
    "offset",
}


def report_to_dict(report: DecodedReport) -> dict[str, Any]:
    return {
        "crashes": [crash_to_dict(c) for c in report.crashes],
        "facts": [fact_to_dict(f) for f in report.facts],
        "classification": _plain(dataclasses.asdict(report.classification))
        if report.classification
        else None,
        "signature": report.signature,
        "recommendations": [_plain(dataclasses.asdict(r)) for r in report.recommendations],
        "determinism": dataclasses.asdict(report.determinism),
        "evidence_health": [dataclasses.asdict(n) for n in report.health],
        "restart_storm": dataclasses.asdict(report.restart_storm) if report.restart_storm else None,
        "changes": [_plain(dataclasses.asdict(c)) for c in report.changes],
        "unrecognized_lines": report.unrecognized_lines,
    }


def crash_to_dict(crash: Crash) -> dict[str, Any]:
    fault = crash.fault
    instruction = crash.instruction
    return {
        "sources": list(crash.sources),
        "time": _iso(crash.time),
        "host": crash.host,
        "pid": crash.pid,
        "process": crash.process,
        "executable": crash.executable,
        "unit": crash.unit,
        "signal": crash.signal,
        "signal_code": crash.signal_code,
        "trap": crash.trap,
        "fault_address": hex_or_none(crash.fault_address),
        "ip": hex_or_none(crash.ip),
        "sp": hex_or_none(crash.sp),
        "error_code": crash.error_code,
        "access": fault.access if fault else None,
        "cause": fault.cause if fault else siginfo.cause(crash.signal_code),
        "mode": fault.mode if fault else None,
        "module": crash.module,
        "module_base": hex_or_none(crash.module_base),
        "module_offset": hex_or_none(crash.module_offset),
        "file_offset": hex_or_none(crash.file_offset),
        "build_id": crash.build_id,
        "crashing_thread": crash.crashing_thread,
        "corefile": crash.corefile,
        "command_line": crash.command_line,
        "instruction": {
            "text": instruction.text,
            "base_register": instruction.memory.base if instruction.memory else None,
            "base_value": hex_or_none(instruction.base_value),
            "writes_memory": instruction.writes_memory,
        }
        if instruction
        else None,
        "frames": [frame_to_dict(f) for f in crash.frames],
    }


def frame_to_dict(frame: Frame) -> dict[str, Any]:
    return {
        "thread": frame.thread,
        "index": frame.index,
        "address": hex_or_none(frame.address),
        "function": frame.function,
        "function_offset": hex_or_none(frame.function_offset),
        "module": frame.module,
        "module_offset": hex_or_none(frame.module_offset),
        "build_id": frame.build_id,
        "file": frame.file,
        "line": frame.line,
        "inlined": frame.inlined,
    }


def fact_to_dict(fact: Fact) -> dict[str, Any]:
    data = {"kind": fact.kind, **dataclasses.asdict(fact)}
    for key in _HEX_FIELDS & data.keys():
        if key in {"address", "start", "end", "offset"} and isinstance(data[key], int):
            data[key] = hex_or_none(data[key])
    return _plain(data)


def hex_or_none(value: int | None) -> str | None:
    return None if value is None else f"{value:#x}"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    return {key: _json_value(value) for key, value in data.items()}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return _plain(value)
    return value
