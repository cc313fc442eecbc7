"""Debug files fetched by build-id (debuginfod's /buildid/HEX/debuginfo or /executable)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

Artifact = Literal["debuginfo", "executable"]


@dataclass(frozen=True)
class Fetched:
    """A file a DebugInfoFetcher downloaded."""

    path: Path  # the downloaded file in the local cache
    url: str  # where it came from


class DebugInfoFetcher(Protocol):
    """Fetches a file for a build-id (debuginfod's /buildid/HEX/debuginfo or /executable).
    Returns None when no server has it; raises SymbolError when none could be asked."""

    def fetch(self, *, build_id: str, artifact: Artifact) -> Fetched | None: ...
