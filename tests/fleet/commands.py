"""Which playbook step a command segbot sent is: the wire command back to its step id and values.

segbot wraps each command as `timeout -k K T sh -c 'umask 077; set -C; [sudo -n ]CMD' </dev/null`;
the step is found by matching CMD against the playbook's own templates, so a changed playbook
changes the simulator with it.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from bot.adapters.ssh import PRELUDE
from bot.domain.playbook import Playbook, load_playbook

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "segfault.yaml"
REMOVE_CORE = "remove_core"  # segbot's own `rm -f -- CORE` once the copy is verified
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# segbot's wrapper exactly: `shlex.quote` of a command with spaces is '...' with each inner '
# written '"'"', so this is undone without a general (slow) shell lexer.
_WRAPPED = re.compile(r"timeout -k \S+ \S+ sh -c '((?:[^']|'\"'\"')*)' </dev/null\Z")


@dataclass(frozen=True)
class Matched:
    step: str
    values: dict[str, str]  # placeholder -> the (unquoted) value segbot filled in


def load_segfault_playbook() -> Playbook:
    return load_playbook(PLAYBOOK.read_text(), name="segfault")


def unwrap(wire: str) -> str:
    """The command inside segbot's `timeout ... sh -c '...'` wrapper, without `sudo -n`."""
    exact = _WRAPPED.match(wire)
    if exact is not None:
        wire = exact.group(1).replace("'\"'\"'", "'")
    else:
        try:
            words = shlex.split(wire)
        except ValueError:
            return wire
        if len(words) >= 7 and words[0] == "timeout" and words[4:6] == ["sh", "-c"]:
            wire = words[6]
    wire = wire.removeprefix(PRELUDE)
    return wire.removeprefix("sudo -n ")


def _pattern(template: str) -> re.Pattern[str]:
    parts, last, seen = [], 0, set[str]()
    for found in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last:found.start()]))
        name = found.group(1)
        # A rendered value is one shell word: quoted ('...') or bare.
        parts.append(f"(?P={name})" if name in seen else rf"(?P<{name}>'[^']*'|[^\s']+)")
        seen.add(name)
        last = found.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts) + r"\Z")


class Matcher:
    """Maps an unwrapped command to its step (first template that matches wins)."""

    def __init__(self, playbook: Playbook) -> None:
        self.patterns = [(s.id, _pattern(s.command)) for s in playbook.steps
                         if s.command is not None]
        self.patterns.append((REMOVE_CORE, _pattern("rm -f -- {core_path}")))

    def match(self, command: str) -> Matched | None:
        for step, pattern in self.patterns:
            found = pattern.match(command)
            if found is not None:
                values = {k: _unquote(v) for k, v in found.groupdict().items()}
                return Matched(step=step, values=values)
        return None


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] == "'" and "'" not in word[1:-1]:
        return word[1:-1]
    if "'" not in word and '"' not in word and "\\" not in word:
        return word
    try:
        return "".join(shlex.split(word))
    except ValueError:
        return word
