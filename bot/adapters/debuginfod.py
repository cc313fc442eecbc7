"""A debuginfod client over httpx: `GET URL/buildid/HEX/debuginfo|executable` against each
server in turn (DEBUGINFOD_URLS, space-separated), files cached under the segbot cache, misses
remembered for a while, with timeouts and a size limit. httpx errors are translated here."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bot.app.ports.symbols import Artifact, Fetched
from bot.errors import BadElf, ConfigError, SymbolError
from bot.symbols.elf_file import read_elf
from bot.symbols.index_store import default_cache_dir

DEFAULT_TIMEOUT_S = 90.0  # elfutils' DEBUGINFOD_TIMEOUT default
DEFAULT_MAX_BYTES = 2 << 30
MISS_TTL_S = 600.0  # elfutils' cache_miss_s default
_BUILD_ID = re.compile(r"^[0-9a-f]{2,128}$")


class DebuginfodClient:
    """Implements bot.app.symbolize.DebugInfoFetcher."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        cache_dir: Path | None = None,
        timeout_s: float | None = None,
        max_bytes: int | None = None,
        miss_ttl_s: float = MISS_TTL_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.urls = [url.rstrip("/") for url in urls]
        root = cache_dir if cache_dir is not None else default_cache_dir()
        self.cache = root / "debuginfod"
        self.timeout_s = (
            timeout_s
            if timeout_s is not None
            else _env_number("DEBUGINFOD_TIMEOUT", DEFAULT_TIMEOUT_S)
        )
        self.max_bytes = (
            max_bytes
            if max_bytes is not None
            else int(_env_number("DEBUGINFOD_MAXSIZE", DEFAULT_MAX_BYTES))
        )
        self.miss_ttl_s = miss_ttl_s
        self._transport = transport

    def fetch(self, *, build_id: str, artifact: Artifact) -> Fetched | None:
        build_id = build_id.lower()
        if not _BUILD_ID.match(build_id):
            raise SymbolError(f"not a build-id: {build_id!r}")
        target = self.cache / build_id / artifact
        origin = target.with_name(artifact + ".url")
        if target.is_file():
            url = origin.read_text().strip() if origin.is_file() else str(target)
            return Fetched(target, url)
        miss = target.with_name(artifact + ".miss")
        if miss.is_file() and time.time() - miss.stat().st_mtime < self.miss_ttl_s:
            return None
        errors: list[str] = []
        timeout = httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, 10.0))
        with httpx.Client(
            timeout=timeout, transport=self._transport, follow_redirects=True
        ) as client:
            for base in self.urls:
                url = f"{base}/buildid/{build_id}/{artifact}"
                try:
                    if self._download(client, url, target, build_id):
                        origin.write_text(url + "\n")
                        return Fetched(target, url)
                except SymbolError as error:
                    errors.append(str(error))
        if errors and len(errors) == len(self.urls):
            raise SymbolError("debuginfod: " + "; ".join(errors))
        if not errors:  # every server answered "not here": remember that for a while
            miss.parent.mkdir(parents=True, exist_ok=True)
            miss.touch()
        return None

    def _download(self, client: httpx.Client, url: str, target: Path, build_id: str) -> bool:
        """True when url gave the file (now at target), False on 404; SymbolError otherwise."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".part{os.getpid()}")
        try:
            with client.stream("GET", url) as response:
                if response.status_code == 404:
                    return False
                if response.status_code != 200:
                    raise SymbolError(f"{url}: HTTP {response.status_code}")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise SymbolError(f"{url}: {declared} bytes, over the {self.max_bytes} limit")
                size = 0
                with partial.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        size += len(chunk)
                        if size > self.max_bytes:
                            raise SymbolError(f"{url}: over the {self.max_bytes} byte limit")
                        out.write(chunk)
            try:
                summary = read_elf(partial)
            except BadElf as error:
                raise SymbolError(f"{url}: not a usable ELF file ({error})") from error
            if summary.build_id != build_id:
                raise SymbolError(f"{url}: served build-id {summary.build_id}, not {build_id}")
            os.replace(partial, target)
            return True
        except httpx.TimeoutException as error:
            raise SymbolError(f"{url}: timed out after {self.timeout_s:g}s") from error
        except httpx.HTTPError as error:
            raise SymbolError(f"{url}: {type(error).__name__}: {error}") from error
        except OSError as error:
            raise SymbolError(f"{url}: cannot write the cache: {error}") from error
        finally:
            partial.unlink(missing_ok=True)


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError as error:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from error
    if value <= 0:
        raise ConfigError(f"{name} must be positive")
    return value
