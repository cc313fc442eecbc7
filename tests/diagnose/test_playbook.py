"""The playbook model: the shipped YAML loads; bad templates are refused; values stay one word."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import default_playbook_path, load_playbook_file
from bot.domain.playbook import captured, check_template, load_playbook, render
from bot.errors import ConfigError

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "segfault.yaml"
COREDUMPCTL_LIST = """\
TIME                          PID  UID  GID SIG     COREFILE EXE                            SIZE
Wed 2026-01-22 03:11:07 UTC 24891 1001 1001 SIGSEGV present  /opt/checkout/bin/checkout-api 1.2M
Wed 2026-01-22 03:09:55 UTC 24602 1001 1001 SIGSEGV present  /opt/checkout/bin/checkout-api 1.2M
"""


def test_the_shipped_playbook_loads_with_evidence_first() -> None:
    assert default_playbook_path() == PLAYBOOK
    book = load_playbook_file()
    ids = [s.id for s in book.steps]
    assert ids[:4] == ["cores", "core_dir", "dump_core", "core_sha256"]
    assert {"fetch_core", "fetch_binary", "journal", "kernel", "restart_policy"} <= set(ids)
    assert book.step("fetch_core").verify == "core_sha256"
    assert "cores" in book.ancestors("fetch_core")


def test_pid_is_captured_from_the_newest_core() -> None:
    cores = load_playbook_file().step("cores")
    assert captured(cores, COREDUMPCTL_LIST) == {"pid": "24891"}
    assert captured(cores, "No coredumps found.\n") == {}


def _one(command: str, **extra: object) -> str:
    fields = "".join(f"\n    {k}: {v}" for k, v in extra.items())
    return f"steps:\n  - id: s\n    command: {command}{fields}\n"


@pytest.mark.parametrize(("text", "message"), [
    (_one("echo {host}", parser="nonsense"), "unknown parser 'nonsense'"),
    (_one("echo {hostname}"), r"unknown placeholder \{hostname\}"),
    (_one("echo '{host}'"), "inside quotes"),
    (_one('''"echo \\"{host}\\""'''), "inside quotes"),
    (_one("echo ${host}"), "after"),
    (_one("eval echo {host}"), "eval"),
    (_one("sh -c {unit}"), "eval/sh -c"),
    (_one('"{binary} --version"'), "names the command"),
    (_one('"true && {binary}"'), "names the command"),
    (_one('"echo $({binary})"'), "names the command"),
    (_one('"ls | {binary}"'), "names the command"),
    (_one("echo {host!r}"), "plain name"),
    (_one("echo {host:>9}"), "plain name"),
    (_one("echo {host.real}"), "plain name"),
    (_one("echo {0}"), "plain name"),
    (_one("echo {host"), "braces"),
    (_one('"echo a\\nrm {host}"'), "control characters"),
    (_one("echo {pid}"), "captured by no step"),
    (_one("echo hi", timeout=0), "timeout"),
    (_one("echo hi", colour="red"), "unknown keys"),
    ("steps:\n  - id: a\n    command: x\n    needs: [b]\n  - id: b\n    command: y\n",
     "must come earlier"),
    ("steps:\n  - id: a\n    command: x\n  - id: a\n    command: y\n", "duplicate"),
    ("steps:\n  - id: a\n    command: x\n    fetch: /y\n", "exactly one of"),
    ("steps:\n  - id: a\n    command: x\n    capture: {pid: '\\d+'}\n", "exactly one group"),
    ("steps:\n  - id: a\n    command: x\n    capture: {host: '(x)'}\n", "cannot capture"),
    ("steps: 3\n", "steps"),
    ("steps: [\n", "not YAML"),
])
def test_bad_playbooks_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_playbook(text, name="test")


def test_safe_shapes_are_accepted() -> None:
    for template in ("coredumpctl dump {pid} --output={core_path}", "ls -l {binary} | head -n 3",
                     'gdb -ex "set pagination off" {binary} {core_path}', "a={unit} b"):
        check_template(template, "t")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\0"),
               max_size=40))
def test_any_value_reaches_the_command_as_exactly_one_word(value: str) -> None:
    command = render("printf '%s\\0' {binary} end", {"binary": value})
    out = subprocess.run(["sh", "-c", command], capture_output=True, check=True).stdout
    assert out.split(b"\0")[:2] == [value.encode("utf-8", "surrogateescape"), b"end"]
