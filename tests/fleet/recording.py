"""Recorded lab-host outputs: loading them and filling their per-host templates.

`recorded/<profile>/outputs.json` holds, per playbook step, what a real lab host answered
(stdout, stderr, exit status); `binary` and `core.gz` are the files segbot copied off it. Only
what must differ per host is templated: `{hostname}`, `{core_path}` (segbot's random name),
`{version}` (the service's version line) and `{build_id}` (the executable's GNU build-id; a
version's build-id is patched into the binary and the core, so their checksums follow).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.app.diagnose import HostDiagnosis
from bot.commands.diagnose import host_to_dict

RECORDED = Path(__file__).resolve().parent / "recorded"
TEMPLATED = ("hostname", "core_path", "version", "build_id")


@dataclass(frozen=True)
class Answer:
    stdout: str
    stderr: str
    exit_status: int
    duration: float  # seconds the real host took (the simulator's default latency)


@dataclass(frozen=True)
class Profile:
    """One recorded host: its answers by step, its files, and the values it was recorded with."""

    name: str
    answers: dict[str, Answer]
    binary: bytes
    core: bytes
    recorded: dict[str, str]  # hostname, version, build_id, core_path at recording time
    verdict: dict[str, object]  # what segbot decoded from the real host
    fetch_seconds: dict[str, float]  # "binary", "core": how long the real copies took

    def build_id(self, version: str) -> str:
        """The recorded build-id for the recorded version, a stable other one for any other."""
        if version == self.recorded["version"]:
            return self.recorded["build_id"]
        return hashlib.sha1(version.encode()).hexdigest()[: len(self.recorded["build_id"])]

    def files(self, version: str) -> tuple[bytes, bytes]:
        """(binary, core) as a host running `version` holds them."""
        old, new = (bytes.fromhex(self.build_id(v)) for v in (self.recorded["version"], version))
        return self.binary.replace(old, new), self.core.replace(old, new)


@cache
def load_profile(name: str) -> Profile:
    folder = RECORDED / name
    data = json.loads((folder / "outputs.json").read_text())
    answers = {step: Answer(**answer) for step, answer in data["answers"].items()}
    return Profile(name=name, answers=answers, binary=(folder / "binary").read_bytes(),
                   core=gzip.decompress((folder / "core.gz").read_bytes()),
                   recorded=data["recorded"], verdict=data["verdict"],
                   fetch_seconds=data["fetch_seconds"])


def fill(text: str, values: dict[str, str]) -> str:
    for key in TEMPLATED:
        text = text.replace("{" + key + "}", values[key])
    return text


def templated(text: str, recorded: dict[str, str]) -> str:
    """The inverse of `fill`, used once when recording (longest values first)."""
    for key in sorted(TEMPLATED, key=lambda k: -len(recorded.get(k, ""))):
        value = recorded.get(key)
        if value:
            text = text.replace(value, "{" + key + "}")
    return text


def verdict(diagnosis: HostDiagnosis) -> dict[str, Any]:
    """What segbot decoded from a host: what a simulated host must reproduce."""
    data = host_to_dict(diagnosis)
    lead = max(data["crashes"], default=None,
               key=lambda c: (len(c.get("sources", [])), len(c.get("frames", []))))
    return {
        "signature": data.get("signature"),
        "classification": (data.get("classification") or {}).get("kind"),
        "signal": lead and lead.get("signal"),
        "module": lead and lead.get("module"),
        "top_function": lead and (lead.get("frames") or [{}])[0].get("function"),
        "crashed": diagnosis.crashed,
        "steps": {s["id"]: s["status"] for s in data["steps"]},
    }
