#!/usr/bin/env python3
"""Write a fleet host's /etc/sudoers.d/segbot from segbot's own config and playbook.

    python deploy/host/sudoers.py --config /etc/segbot/segbot.yaml --host node-17 > segbot
    visudo -c -f segbot && install -m 0440 -o root -g root segbot /etc/sudoers.d/segbot

Every `sudo: true` step of the playbook is rendered exactly as segbot renders it (the same
template code, the same quoting) for each service on the host, and becomes one rule with full
paths and fixed arguments. The values only known at run time become anchored regular
expressions (sudo >= 1.9.10): the core-dump pid (digits), the core file's timestamp and its
random part; `coredumpctl dump|info` also name the service's binary (COREDUMP_EXE=), so only
that program's cores can be extracted or read. So the
segbot user can run these commands with exactly these arguments and nothing else: no `*`
wildcard, which in sudoers also matches spaces (and so extra arguments such as `-ex shell`).

Containment, for services whose `actions` include `restart_delay`: the root-owned helper
/usr/local/libexec/segbot/restart-delay (set UNIT SECONDS / clear UNIT), `systemctl
daemon-reload`, and `systemctl reset-failed|restart UNIT` for those units only.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a source checkout

from bot.app.diagnose import Inventory
from bot.config import Config, load_config, load_playbook_file
from bot.domain.playbook import CAPTURE_PATTERNS, Playbook, render
from bot.domain.verification import SINCE_PATTERN, crash_count_command

HELPER = "/usr/local/libexec/segbot/restart-delay"
SYSTEMCTL = "/usr/bin/systemctl"
#: How `now.strftime("%Y%m%dT%H%M%SZ")` (the diagnose run's stamp) looks.
STAMP_PATTERN = "[0-9]{8}T[0-9]{6}Z"
MAX_DELAY_PATTERN = "[0-9]{1,4}"  # the helper itself refuses more than 3600 seconds
# Stand-ins for run-time values: plain words, so shlex.quote leaves them as they are.
_PID = "SEGBOTPIDVALUE"
_STAMP = "SEGBOTSTAMPVALUE"
_NONCE = "SEGBOTNONCEVALUE"
#: The random part of a core's name (diagnose: secrets.token_hex(16)).
NONCE_PATTERN = "[0-9a-f]{32}"
_DELAY = "SEGBOTDELAYVALUE"
_SINCE = "SEGBOTSINCEVALUE"
_RUNTIME = {_PID: CAPTURE_PATTERNS["pid"].pattern, _STAMP: STAMP_PATTERN,
            _NONCE: NONCE_PATTERN, _DELAY: MAX_DELAY_PATTERN, _SINCE: SINCE_PATTERN}
_SUDOERS_SPECIAL = re.compile(r"[,:=]")
_ERE_SPECIAL = re.compile(r"([.\[\]()*+?{}|^$])")
_REDIRECTION = re.compile(r"([0-9]*)(?:>>|>&|<&|>\||<>|>|<)")


class SudoersError(Exception):
    pass


def first_command(command: str) -> list[str]:
    """The argv sudo receives: the first command of a pipeline, without its redirections.

    The playbook's privilege covers only that command (`sudo -n CMD ... | tail`), so that is
    the one sudoers must allow. Quotes and redirections are read the way `sh` reads them.
    """
    kept: list[str] = []
    i, n, word_start = 0, len(command), True
    while i < n:
        char = command[i]
        if char in "'\"":
            end = _quoted_end(command, i)
            kept.append(command[i:end])
            i, word_start = end, False
            continue
        if char == "\\":
            kept.append(command[i:i + 2])
            i, word_start = i + 2, False
            continue
        if char in "|;&":
            break  # |, ||, ;, &&, & end the first command
        redirection = _REDIRECTION.match(command, i) if word_start or char in "<>" else None
        if redirection and (word_start or redirection.group(1) == ""):
            i = _word_end(command, redirection.end())
            word_start = True
            kept.append(" ")
            continue
        kept.append(char)
        word_start = char.isspace()
        i += 1
    words = shlex.split("".join(kept))
    if not words:
        raise SudoersError(f"no command in {command!r}")
    return words


def _quoted_end(text: str, start: int) -> int:
    """The index after the quoted string that starts at `start`."""
    quote, i = text[start], start + 1
    while i < len(text):
        if quote == '"' and text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    raise SudoersError(f"unbalanced quote in {text!r}")


def _word_end(text: str, i: int) -> int:
    """Skip spaces, then one shell word (a redirection's target)."""
    while i < len(text) and text[i] in " \t":
        i += 1
    while i < len(text) and not text[i].isspace() and text[i] not in "|;&<>":
        i = _quoted_end(text, i) if text[i] in "'\"" else i + 1
    return i


def _escape_fixed(arg: str) -> str:
    return _SUDOERS_SPECIAL.sub(lambda m: "\\" + m.group(0), arg)


def _ere(arg: str) -> str:
    """An argument as part of a POSIX extended regular expression, run-time values opened up."""
    pieces = re.split(f"({'|'.join(_RUNTIME)})", arg)
    return "".join(_RUNTIME.get(p) or _ERE_SPECIAL.sub(r"\\\1", p) for p in pieces)


def rule(argv: list[str]) -> str:
    """One sudoers command spec: full path, then fixed arguments or an anchored regex."""
    program, args = argv[0], argv[1:]
    if not program.startswith("/"):
        program = f"/usr/bin/{program}"  # sudo also accepts /bin/X where /bin -> /usr/bin
    if any("\\" in a or any(c.isspace() and c != " " for c in a) for a in argv):
        raise SudoersError(f"cannot express {argv!r} in sudoers (backslash or control space)")
    if not args:
        return f'{program} ""'
    joined = " ".join(args)
    runtime = any(value in joined for value in _RUNTIME)
    if runtime or re.search(r"[*?\[\]]", joined) or joined.startswith("^"):
        regex = "^" + " ".join(_ere(a) for a in args) + "$"
        return f"{program} {_escape_fixed(regex)}"
    return f"{program} {_escape_fixed(joined)}"


def _services(config: Config, host: str | None) -> list[str]:
    if host is None:
        return list(config.services)
    if host not in config.hosts:
        raise SudoersError(f"unknown host {host!r}")
    return [name for name in config.services if host in config.service_hosts(name)]


def playbook_rules(config: Config, playbook: Playbook, host: str | None) -> list[str]:
    rules: list[str] = []
    for name in _services(config, host):
        service = config.services[name]
        hosts = [host] if host is not None else config.service_hosts(name) or ["HOST"]
        for host_name in hosts:
            user = config.target(host_name).user if host_name in config.hosts else "segbot"
            inventory = Inventory(host=host_name, service=name, unit=service.unit,
                                  binary=service.binary, user=user,
                                  core_dir=config.defaults.core_dir)
            values = {**inventory.values(_STAMP, _NONCE), "pid": _PID}
            for step in playbook.steps:
                if step.sudo and step.command is not None:
                    rules.append(rule(first_command(render(step.command, values))))
    return list(dict.fromkeys(rules))


def verification_rules(config: Config, host: str | None) -> list[str]:
    """After an action, segbot counts new cores of the service's binary since the action's
    end (bot.domain.verification): services with a verified action and count_on_hosts."""
    rules: list[str] = []
    for name in _services(config, host):
        entry = config.services[name]
        verified = {"rollback", "disable_flag", "restart_delay"} & set(entry.actions)
        if verified and entry.actions.verify.count_on_hosts:
            rules.extend(rule(first_command(crash_count_command(entry.binary, _SINCE,
                                                                precise=precise)))
                         for precise in (True, False))
    return list(dict.fromkeys(rules))


def containment_rules(config: Config, host: str | None) -> list[str]:
    units = [config.services[n].unit for n in _services(config, host)
             if "restart_delay" in config.services[n].actions]
    rules: list[str] = []
    for unit in dict.fromkeys(units):
        rules += [
            rule([HELPER, "set", unit, _DELAY]),
            rule([HELPER, "set", unit, _DELAY, "core"]),
            rule([HELPER, "clear", unit]),
            rule([SYSTEMCTL, "reset-failed", unit]),
            rule([SYSTEMCTL, "restart", unit]),
        ]
    if units:
        rules.insert(0, rule([SYSTEMCTL, "daemon-reload"]))
    return rules


def _alias(name: str, rules: Iterable[str]) -> str:
    body = ", \\\n    ".join(rules)
    return f"Cmnd_Alias {name} = \\\n    {body}\n"


def sudoers(config: Config, playbook: Playbook, *, host: str | None = None,
            user: str = "segbot") -> str:
    if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", user):
        raise SudoersError(f"not a plain user name: {user!r}")
    where = f"host {host}" if host else "every host in the config"
    out = [
        "# /etc/sudoers.d/segbot: what segbot may run as root, and nothing else.\n",
        f"# Written by deploy/host/sudoers.py for {where}; regenerate it when the playbook\n",
        "# or the services change. Install: visudo -c -f FILE && install -m 0440 FILE\n",
        "# /etc/sudoers.d/segbot. segbot runs `timeout -k N T sh -c 'sudo -n CMD ...'`:\n",
        "# timeout wraps sudo, never the other way round (`sudo timeout` would allow anything).\n",
        "# Fixed arguments match exactly; ^...$ arguments are anchored regular expressions\n",
        "# (sudo >= 1.9.10) for the core-dump pid, the core file's timestamp and random part.\n",
        "\n",
        f"Defaults:{user} !requiretty, !lecture, env_reset\n",
        f'Defaults:{user} secure_path="/usr/sbin:/usr/bin:/sbin:/bin"\n',
        "\n",
        "# The playbook's privileged steps (sudo: true), one rule per step and service.\n",
        _alias("SEGBOT_PLAYBOOK", playbook_rules(config, playbook, host)),
    ]
    verify = verification_rules(config, host)
    if verify:
        out += ["\n# Verification after an action: new cores of the service since the action.\n",
                _alias("SEGBOT_VERIFY", verify)]
    contain = containment_rules(config, host)
    if contain:
        out += ["\n# Containment: slow a crash loop (restart delay drop-in), restart the unit.\n",
                _alias("SEGBOT_CONTAIN", contain)]
    allowed = ("NOEXEC: SEGBOT_PLAYBOOK" + (", SEGBOT_VERIFY" if verify else "")
               + (", EXEC: SEGBOT_CONTAIN" if contain else ""))
    out += ["\n# NOEXEC: the playbook's commands cannot start other programs (no pager, no gdb\n",
            "# `shell`), even if an argument slipped through. The helper is a script: EXEC.\n",
            f"{user} ALL=(root) NOPASSWD: {allowed}\n"]
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, required=True, help="segbot's config file")
    parser.add_argument("--playbook", type=Path, help="default: the config's, else segbot's")
    parser.add_argument("--host", help="only the services on this inventory host")
    parser.add_argument("--user", help="the SSH user on the host (default: the config's)")
    options = parser.parse_args(argv)
    try:
        config = load_config(options.config)
        playbook = load_playbook_file(options.playbook, config)
        user = options.user or (config.target(options.host).user
                                if options.host in config.hosts else config.defaults.user)
        sys.stdout.write(sudoers(config, playbook, host=options.host, user=str(user)))
    except Exception as error:  # one line, no traceback: this is a command-line tool
        print(f"sudoers.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
