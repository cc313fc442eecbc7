"""A crash: everything the evidence says about one occurrence, merged across sources."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.domain.evidence import CodeBytes, Frame
from bot.domain.instruction import Instruction
from bot.domain.pagefault import PageFault


@dataclass(frozen=True)
class Crash:
    sources: tuple[str, ...]
    signal: str | None = None
    signal_code: str | None = None
    time: datetime | None = None
    host: str | None = None
    pid: int | None = None
    process: str | None = None
    executable: str | None = None
    unit: str | None = None
    trap: str | None = None
    fault_address: int | None = None
    ip: int | None = None
    sp: int | None = None
    error_code: int | None = None
    fault: PageFault | None = None
    module: str | None = None
    module_base: int | None = None
    module_size: int | None = None
    module_offset: int | None = None
    file_offset: int | None = None
    build_id: str | None = None
    crashing_thread: int | None = None
    frames: tuple[Frame, ...] = ()
    code: CodeBytes | None = None
    instruction: Instruction | None = None
    command_line: str | None = None
    corefile: str | None = None
    uptime_seconds: float | None = None

    @property
    def has_site(self) -> bool:
        """Whether we know where it crashed (an ip, or a frame)."""
        return self.ip is not None or bool(self.frames)

    @property
    def site_offset(self) -> int | None:
        """Where the ip is in its module, as elfutils and gdb count it: the kernel's file
        offset (6.x) when printed; else ip - base, which is that only when the mapping the ip
        fell in starts the file (true for single-segment binaries, not for modern PIE)."""
        return self.file_offset if self.file_offset is not None else self.module_offset

    def crashing_frames(self) -> tuple[Frame, ...]:
        """Frames of the crashing thread only, innermost first; none when the evidence names
        the crashing thread but shows only other threads' stacks."""
        return crashing_frames(self.frames, self.crashing_thread)


def crashing_frames(frames: Sequence[Frame], crashing_thread: int | None) -> tuple[Frame, ...]:
    if not frames:
        return ()
    threads = {f.thread for f in frames}
    thread = frames[0].thread
    if crashing_thread is not None and None not in threads:
        thread = crashing_thread
    return tuple(f for f in frames if f.thread == thread)


_TRAMPOLINE = frozenset({"__restore_rt", "__kernel_rt_sigreturn", "__vdso_rt_sigreturn"})


def site_frame(frames: Sequence[Frame]) -> Frame | None:
    """The frame that faulted: the first, or, when the program caught the signal in its own
    handler (systemd, browsers, runtimes), the one after `<signal handler called>`."""
    for position, frame in enumerate(frames[:-1]):
        if frame.signal_handler or frame.function in _TRAMPOLINE:
            return frames[position + 1]
    return frames[0] if frames else None
