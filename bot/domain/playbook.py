"""The crash playbook as data: steps, command templates, and rendering that quotes every value.

Templates name placeholders as `{name}`; only inventory/config values and values captured by an
earlier step may fill them, and each is shell-quoted as one word. Loading refuses templates that
would let a value be read twice by a shell (inside quotes, after `$`, under `eval`/`sh -c`).
"""

from __future__ import annotations

import re
import shlex
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from bot.domain.parsers.registry import PARSER_NAMES
from bot.errors import ConfigError

PARSERS: frozenset[str] = frozenset(PARSER_NAMES)

#: Values the inventory and config provide for every run.
INVENTORY_PLACEHOLDERS = frozenset(
    {"host", "service", "unit", "binary", "process", "user", "core_dir", "core_path"})
#: Where extracted cores go on a host unless the config says otherwise (the core_dir step makes
#: it: owned by the SSH user, mode 0700).
DEFAULT_CORE_DIR = "/var/tmp/segbot-cores"
#: Values an earlier step captures from its output, with the shape they must have.
CAPTURE_PATTERNS: Mapping[str, re.Pattern[str]] = {"pid": re.compile(r"[0-9]{1,10}")}
PLACEHOLDERS = INVENTORY_PLACEHOLDERS | frozenset(CAPTURE_PATTERNS)

_STEP_ID = re.compile(r"[a-z][a-z0-9_]{0,40}")
# A shell word that re-reads its arguments as shell text: a quoted value would be unquoted there.
_REINTERPRETERS = re.compile(r"(^|[\s;|&(`])(eval|sh|bash|dash|zsh|su|xargs|ssh|env)\b.*")
_MAX_TIMEOUT = 3600.0
# Where a word is run as a command: the start, after ; & | ( { or inside $( or backquotes.
_COMMAND_POSITION = re.compile(r"(^|[;&|({`]|\$\()\s*$")


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    command: str | None = None  # shell template run on the host
    fetch: str | None = None  # or: a remote path template copied off the host over SFTP
    parser: str | None = None
    timeout: float = 30.0
    sudo: bool = False
    optional: bool = False
    needs: tuple[str, ...] = ()
    capture: tuple[tuple[str, str], ...] = ()  # (placeholder, regex with one group)
    ok_exit: tuple[int, ...] = (0,)
    compare: bool = False  # output compared across hosts of a service (configuration drift)
    verify: str | None = None  # fetch only: the sha256sum step whose digest must match

    @property
    def compare_only(self) -> bool:
        """Output no parser reads: kept for drift comparison, not decoded."""
        return self.parser is None and self.compare

    @property
    def template(self) -> str:
        return self.command if self.command is not None else str(self.fetch)

    def placeholders(self) -> frozenset[str]:
        return frozenset(name for _, name in _fields(self.template, self.id))


@dataclass(frozen=True)
class Playbook:
    name: str
    steps: tuple[Step, ...]

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def ancestors(self, step_id: str) -> frozenset[str]:
        seen: set[str] = set()
        todo = list(self.step(step_id).needs)
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo.extend(self.step(current).needs)
        return frozenset(seen)


def _fields(template: str, where: str) -> list[tuple[str, str]]:
    """(literal text before, placeholder name) pairs; refuses conversions, specs, attributes."""
    pairs: list[tuple[str, str]] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as error:
        raise ConfigError(f"step {where}: bad template braces: {error}") from None
    for literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if spec or conversion or not re.fullmatch(r"[a-z_]+", name):
            raise ConfigError(f"step {where}: placeholder {{{name}}} must be a plain name")
        pairs.append((literal, name))
    return pairs


def check_template(template: str, where: str,
                   known: frozenset[str] = PLACEHOLDERS, *, command: bool = True) -> None:
    """Refuse a template in which a quoted value could still be read as shell syntax (the
    playbook's, and containment's SSH command templates with their own `known` names)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in template):
        raise ConfigError(f"step {where}: control characters (newlines) are not allowed")
    pairs = _fields(template, where)
    for _, name in pairs:
        if name not in known:
            raise ConfigError(f"step {where}: unknown placeholder {{{name}}}")
    if pairs and _REINTERPRETERS.search(template):
        raise ConfigError(f"step {where}: placeholders under eval/sh -c/xargs are unsafe")
    quote: str | None = None
    escaped = False
    before = ""  # the template up to this placeholder, earlier placeholders as a plain word
    for literal, name in pairs:
        before += literal
        if command and _COMMAND_POSITION.search(before):
            raise ConfigError(f"step {where}: placeholder {{{name}}} names the command to run, "
                              "which is unsafe")
        before += "value"
        for char in literal:
            if escaped:
                escaped = False
            elif char == "\\" and quote != "'":
                escaped = True
            elif quote is None and char in "'\"":
                quote = char
            elif char == quote:
                quote = None
        if quote is not None or escaped:
            raise ConfigError(f"step {where}: placeholder {{{name}}} inside quotes is unsafe")
        if literal.endswith(("$", "`")):
            raise ConfigError(f"step {where}: placeholder {{{name}}} after $ or ` is unsafe")


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill a checked template; every value becomes exactly one shell word."""
    out: list[str] = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            if name not in values:
                raise KeyError(name)
            out.append(shlex.quote(values[name]))
    return "".join(out)


def captured(step: Step, output: str) -> dict[str, str]:
    """Values the step's capture patterns find in its output (first match wins)."""
    found: dict[str, str] = {}
    for name, pattern in step.capture:
        match = re.search(pattern, output, re.MULTILINE)
        if match and CAPTURE_PATTERNS[name].fullmatch(match.group(1)):
            found[name] = match.group(1)
    return found


def _as_step(raw: Any, index: int) -> Step:
    if not isinstance(raw, dict):
        raise ConfigError(f"step #{index}: expected a mapping")
    known = set(Step.__dataclass_fields__)
    if unknown := set(raw) - known:
        raise ConfigError(f"step #{index}: unknown keys {sorted(unknown)}")
    step_id = raw.get("id")
    if not isinstance(step_id, str) or not _STEP_ID.fullmatch(step_id):
        raise ConfigError(f"step #{index}: id must match {_STEP_ID.pattern}")
    if (raw.get("command") is None) == (raw.get("fetch") is None):
        raise ConfigError(f"step {step_id}: give exactly one of command or fetch")
    try:
        timeout = float(raw.get("timeout", 30.0))
        capture = tuple((str(k), str(v)) for k, v in dict(raw.get("capture") or {}).items())
        step = Step(
            id=step_id,
            title=str(raw.get("title", step_id)),
            command=None if raw.get("command") is None else str(raw["command"]),
            fetch=None if raw.get("fetch") is None else str(raw["fetch"]),
            parser=None if raw.get("parser") is None else str(raw["parser"]),
            timeout=timeout,
            sudo=bool(raw.get("sudo", False)),
            optional=bool(raw.get("optional", False)),
            needs=tuple(str(n) for n in raw.get("needs") or ()),
            capture=capture,
            ok_exit=tuple(int(c) for c in raw.get("ok_exit") or (0,)),
            compare=bool(raw.get("compare", False)),
            verify=None if raw.get("verify") is None else str(raw["verify"]),
        )
    except (TypeError, ValueError) as error:
        raise ConfigError(f"step {step_id}: {error}") from None
    if not 0 < timeout <= _MAX_TIMEOUT:
        raise ConfigError(f"step {step_id}: timeout must be in (0, {_MAX_TIMEOUT:g}] seconds")
    if step.parser is not None and step.parser not in PARSERS:
        raise ConfigError(f"step {step_id}: unknown parser {step.parser!r}")
    for name, pattern in capture:
        if name not in CAPTURE_PATTERNS:
            raise ConfigError(f"step {step_id}: cannot capture {name!r}")
        try:
            groups = re.compile(pattern).groups
        except re.error as error:
            raise ConfigError(f"step {step_id}: capture {name}: {error}") from None
        if groups != 1:
            raise ConfigError(f"step {step_id}: capture {name} needs exactly one group")
    check_template(step.template, step_id, command=step.command is not None)
    return step


def _check_graph(steps: tuple[Step, ...]) -> None:
    index = {step.id: i for i, step in enumerate(steps)}
    if len(index) != len(steps):
        raise ConfigError("duplicate step ids")
    playbook = Playbook(name="", steps=steps)
    for i, step in enumerate(steps):
        for need in step.needs:
            if index.get(need, len(steps)) >= i:
                raise ConfigError(f"step {step.id}: needs {need!r}, which must come earlier")
        if step.verify is not None and (step.fetch is None or step.verify not in step.needs):
            raise ConfigError(f"step {step.id}: verify must name a step it needs")
        providers = {
            name for a in playbook.ancestors(step.id) for name, _ in playbook.step(a).capture
        }
        for name in step.placeholders() & frozenset(CAPTURE_PATTERNS):
            if name not in providers:
                raise ConfigError(f"step {step.id}: {{{name}}} is captured by no step it needs")


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


def load_playbook(text: str, *, name: str) -> Playbook:
    """Parse and validate playbook YAML (the text; the caller reads the file)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"playbook {name}: not YAML: {_one_line(error)}") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise ConfigError(f"playbook {name}: expected a mapping with a 'steps' list")
    try:
        steps = tuple(_as_step(raw, i) for i, raw in enumerate(data["steps"], 1))
        _check_graph(steps)
    except ConfigError as error:
        raise ConfigError(f"playbook {name}: {error}") from None
    return Playbook(name=str(data.get("name", name)), steps=steps)
