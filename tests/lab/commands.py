"""Running the CI machine's own tools (ip, mount, gcc, ...) for the lab, with readable failures."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence


class LabError(RuntimeError):
    """The lab could not do what a test asked (boot, network, cleanup)."""


class LabUnavailable(RuntimeError):
    """The lab cannot run here at all (not root, no rootfs tarball, unusable core_pattern)."""


def sh(argv: Sequence[str], *, input: str | None = None, timeout: float = 120.0) -> str:
    """Run argv on the CI machine; return stdout; raise LabError with stderr on failure."""
    try:
        done = subprocess.run(
            list(argv), input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"{' '.join(argv)}: {exc}") from exc
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def sh_quiet(argv: Sequence[str]) -> bool:
    """Run argv for cleanup: never raise, report whether it worked."""
    try:
        done = subprocess.run(list(argv), capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
