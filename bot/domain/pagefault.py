"""The x86 page-fault error code the kernel prints in hex (`error 14` is 0x14): what it means."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

_PROTECTION, _WRITE, _USER, _RESERVED, _FETCH, _PKEY, _SHADOW_STACK = (1 << n for n in range(7))


@dataclass(frozen=True)
class PageFault:
    code: int
    cause: Literal["not-present", "protection"]
    access: Literal["read", "write", "exec"]
    mode: Literal["user", "kernel"]
    reserved_bit: bool
    protection_key: bool
    shadow_stack: bool

    def describe(self) -> str:
        what = {"read": "read from", "write": "write to", "exec": "instruction fetch from"}
        page = "an unmapped page" if self.cause == "not-present" else "a page that forbids it"
        extras = [
            name
            for flag, name in (
                (self.reserved_bit, "reserved bit set in a page table"),
                (self.protection_key, "protection key violation"),
                (self.shadow_stack, "shadow stack access"),
            )
            if flag
        ]
        tail = f" ({', '.join(extras)})" if extras else ""
        return f"{self.mode}-mode {what[self.access]} {page}{tail}"


@lru_cache(maxsize=128)  # a handful of codes ever occur; a crash loop repeats one
def decode_error_code(code: int) -> PageFault:
    access: Literal["read", "write", "exec"] = "read"
    if code & _FETCH:
        access = "exec"
    elif code & _WRITE:
        access = "write"
    return PageFault(
        code=code,
        cause="protection" if code & _PROTECTION else "not-present",
        access=access,
        mode="user" if code & _USER else "kernel",
        reserved_bit=bool(code & _RESERVED),
        protection_key=bool(code & _PKEY),
        shadow_stack=bool(code & _SHADOW_STACK),
    )
