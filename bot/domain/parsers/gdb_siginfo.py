"""gdb's `print $_siginfo`, on one line (`$1 = {si_signo = 11, ...}`) or pretty-printed over
many (`set print pretty on`): si_signo, si_code and _sigfault.si_addr. The other members of
the union have other names (`_call_addr`, `si_pid`), so the three are unambiguous."""

from __future__ import annotations

import re

from bot.domain.siginfo import SigInfo

_ONE_LINE = re.compile(r"^\$\d+ = \{si_signo = ")
_PRETTY_START = re.compile(r"^\$\d+ = \{$")
# Inside a pretty-printed struct: `name = value,`, `name = {`, or closing braces.
_MEMBER = re.compile(r"^(?:\w+ = .*|\}+,?)$")
_SIGNO = re.compile(r"(?:^|[{ ])si_signo = (\d+)\b")
_CODE = re.compile(r"(?:^|[{ ])si_code = (-?\d+)\b")
_ADDR = re.compile(r"(?:^|[{ ])si_addr = (?:\(void \*\) )?0x([0-9a-fA-F]{1,16})\b")
# No NT_SIGINFO note in the core; `void`: no core loaded (the variable is unset).
_UNAVAILABLE = re.compile(r"^(?:Unable to read siginfo|\$\d+ = void)$")


class SigInfoLines:
    """Feeds one stripped line at a time; `found` is what the lines said, once they named
    si_signo."""

    def __init__(self) -> None:
        self.found: SigInfo | None = None
        self._depth = 0  # open braces of a pretty-printed struct being read
        self._fields: dict[str, int] = {}

    def read(self, line: str) -> bool:
        """Whether the line is part of a `$_siginfo` print (claimed)."""
        if _ONE_LINE.match(line):
            self._fields, self._depth = {}, 0
            self._take(line)
            return True
        if _PRETTY_START.match(line):
            self._fields, self._depth = {}, 1
            return True
        if self._depth > 0 and _MEMBER.match(line):
            self._take(line)
            self._depth += line.count("{") - line.count("}")
            return True
        self._depth = 0
        return bool(_UNAVAILABLE.match(line))

    def _take(self, line: str) -> None:
        for name, pattern, base in (("signo", _SIGNO, 10), ("code", _CODE, 10),
                                    ("address", _ADDR, 16)):
            if name not in self._fields and (match := pattern.search(line)):
                self._fields[name] = int(match[1], base)
        if "signo" in self._fields:
            self.found = SigInfo(signo=self._fields["signo"], code=self._fields.get("code"),
                                 address=self._fields.get("address"))
