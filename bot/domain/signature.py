"""A stable crash signature: the same bug on any host, pid or load address gives the same string.

In the spirit of Socorro and Sentry: frames from the C library, abort and assert machinery and
signal trampolines are skipped; C++ argument lists, templates and ABI tags are stripped; a frame
without a function is written as module+offset (never as an absolute, ASLR-shifted address).
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.domain.crash import Crash, site_frame
from bot.domain.evidence import Frame

_IRRELEVANT = re.compile(
    r"^(?:__GI_)?(?:raise|abort|gsignal|__pthread_kill\w*|pthread_kill|__assert_fail\w*|"
    r"__assert_perror_fail|__libc_message\w*|__libc_start_main\w*|__libc_start_call_main|_start|"
    r"__restore_rt|__fortify_fail|__chk_fail|__stack_chk_fail|malloc_printerr|__malloc_assert|"
    r"std::terminate|std::__terminate|__cxxabiv1::__terminate|__cxa_throw|__cxa_rethrow|"
    r"__gnu_cxx::__verbose_terminate_handler|std::__throw_\w+|_Unwind_\w+|"
    r"core::panicking::\w+|std::panicking::\w+|rust_panic\w*|__rust_start_panic|"
    r"<signal handler called>|__kernel_rt_sigreturn|killpg|__GI___\w+)$"
)
_OPERATOR = re.compile(r"\b(operator(?:\(\)|\[\]|\s+[\w:]+|[^\w\s(]+))\s*\(")
_SYSTEM_MODULES = re.compile(
    r"^(?:libc\.so|libc-|libstdc\+\+|libgcc_s|ld-linux|linux-vdso|"
    r"libpthread|libsystemd)"
)


def crash_signature(crash: Crash) -> str | None:
    """`SIGSEGV PricingRule::apply` or, unsymbolized, `SIGSEGV checkout-api+0x184d2`.

    Only the crash site counts, so that a bare kernel line in an alert and a full backtrace
    from diagnosis group into the same incident; stack_key() keeps the deeper view.
    """
    site = crash_site(crash)
    return f"{crash.signal or 'crash'} {site}" if site else None


def crash_frame(crash: Crash) -> Frame | None:
    """The frame that faulted in the crashing thread (after its signal handler, if any)."""
    return site_frame(crash.crashing_frames())


def crash_site(crash: Crash) -> str | None:
    keys = stack_key(crash, depth=1)
    if keys:
        return keys[0]
    if crash.module and crash.site_offset is not None:
        return f"{crash.module}+{crash.site_offset:#x}"
    return None


def stack_key(crash: Crash, *, depth: int = 3) -> tuple[str, ...]:
    """The first `depth` relevant frames of the crashing thread, as stable strings, from the
    frame that faulted on: a program's own crash handler (kill, raise inside it) is not the bug."""
    frames = crash.crashing_frames()
    site = site_frame(frames)
    frames = frames[frames.index(site):] if site is not None else frames
    keys = [k for k in (_frame_key(f) for f in _relevant(frames)) if k]
    return tuple(keys[:depth])


@lru_cache(maxsize=8192)  # a fleet's reports repeat the same few hundred names
def normalize_function(name: str) -> str:
    """`ns::Foo<int>::bar(int) const [clone .cold]` -> `ns::Foo::bar`."""
    name = re.sub(r"\s*\[clone [^\]]*\]", "", name)
    name = re.sub(r"\[abi:[^\]]*\]", "", name)
    operator = _OPERATOR.search(name)
    if operator:  # `operator<<(...)`, `operator()`: keep the symbol, drop the arguments
        return _drop_bracketed(name[: operator.start(1)], "<", ">") + operator[1]
    name = _drop_bracketed(name, "(", ")")
    name = _drop_bracketed(name, "<", ">")
    name = re.sub(r"\s+(?:const|volatile|&&?|noexcept)\b.*$", "", name)
    name = re.sub(r"^(?:\w[\w:]*\s+)+(?=[\w:~]+$)", "", name.strip())  # return types
    return re.sub(r"::h[0-9a-f]{16}$", "", name).strip()  # Rust legacy hashes


def _relevant(frames: tuple[Frame, ...]) -> list[Frame]:
    kept = [
        f
        for f in frames
        if not (f.function and _IRRELEVANT.match(normalize_function(f.function)))
        and not f.signal_handler
    ]
    # Library frames above the first application frame are the crash's machinery, not its cause.
    first_app = next((i for i, f in enumerate(kept) if not _is_system(f)), None)
    return kept[first_app:] if first_app is not None else kept


def _is_system(frame: Frame) -> bool:
    return bool(frame.module and _SYSTEM_MODULES.match(frame.module))


def _frame_key(frame: Frame) -> str | None:
    if frame.function:
        return normalize_function(frame.function) or None
    if frame.module and frame.module_offset is not None:
        return f"{frame.module}+{frame.module_offset:#x}"
    return None  # an absolute address moves with ASLR: not part of a stable key


def _drop_bracketed(text: str, opening: str, closing: str) -> str:
    """Remove every balanced opening...closing group."""
    out: list[str] = []
    depth = 0
    for char in text:
        if char == opening:
            depth += 1
        elif char == closing and depth:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)
