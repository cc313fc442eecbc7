"""Crash sites however they are named: a kernel line's module + file offset, a symbolized
frame's module + offset, or a function name are one site when they resolve to the same place."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.domain.crash import Crash
from bot.domain.signature import stack_key


@dataclass(frozen=True)
class Site:
    """Where one crash happened, as far as its evidence says."""

    function: str | None
    module: str | None
    offset: int | None

    @property
    def located(self) -> bool:
        return self.module is not None and self.offset is not None


@dataclass(frozen=True)
class SiteCount:
    """How many sites the crashes provably differ in, and their names."""

    count: int  # 0: no crash has a known site
    names: tuple[str, ...]
    crashes: int  # crashes with a known site that were counted
    unmatched: int = 0  # kernel-only lines at a site no host record confirms: left out
    confirmed: int = 0  # of `crashes`, those the host's own records (core, gdb, log) name

    def describe(self) -> str:
        """How many crashes say so: "1 core or log record and 33 kernel lines"."""
        lines = self.crashes - self.confirmed
        if not self.confirmed:
            return f"{self.crashes} crashes"
        own = f"{self.confirmed} from this host's cores or logs"
        return own + (f" and {lines} kernel line(s)" if lines else "")


def site_of(crash: Crash) -> Site | None:
    """The crash's site; None when nothing names it (such a crash is not another site)."""
    keys = stack_key(crash, depth=1)
    function = keys[0] if keys and "+0x" not in keys[0] else None
    frames = crash.crashing_frames()
    top = frames[0] if frames else None
    module, offset = crash.module, crash.site_offset
    if top is not None and top.module and top.module_offset is not None and top.index == 0:
        module, offset = top.module, top.module_offset
    if function is None and (module is None or offset is None):
        return None
    return Site(function, module, offset)


def count_sites(crashes: Sequence[Crash]) -> SiteCount:
    """Sites that really differ: different functions, or different offsets in one module.

    An offset is first resolved to a function through any crash that names both; an offset
    that stays unresolved differs from a function only when nothing could make them one.
    When the host's own records (a core, gdb, its journal) name a site, a kernel line alone
    at another site is left out: a container's kernel log holds its neighbours' crashes."""
    key = tuple(map(id, crashes))
    hit = _COUNTED.get(key)
    if hit is not None and all(map(operator.is_, hit[0], crashes)):
        return hit[1]
    counted = _count_sites(crashes)
    if len(_COUNTED) >= _REMEMBERED:
        _COUNTED.pop(next(iter(_COUNTED), key), None)
    _COUNTED[key] = (tuple(crashes), counted)  # held: their ids stay theirs while remembered
    return counted


# Classification, triage and conclusions each count the same report's crashes (six times per
# decoded report), and a crash loop's report holds ~50: the last few counts are remembered.
_REMEMBERED = 64
_COUNTED: dict[tuple[int, ...], tuple[tuple[Crash, ...], SiteCount]] = {}


def _count_sites(crashes: Sequence[Crash]) -> SiteCount:
    located = [(c, s) for c, s in ((c, site_of(c)) for c in crashes) if s is not None]
    confirmed = [s for c, s in located if _HOST_RECORDS & set(c.sources)]
    if not confirmed:
        return _count([s for _, s in located], unmatched=0)
    neighbour = _neighbour_test(confirmed)
    basis = [s for c, s in located if not neighbour(c, s)]
    counted = _count(basis, unmatched=len(located) - len(basis))
    return replace(counted, confirmed=len(confirmed))


def own_crashes(crashes: Sequence[Crash]) -> list[Crash]:
    """The crashes without the kernel-only lines `count_sites` leaves out (neighbours')."""
    located = [(c, site_of(c)) for c in crashes]
    confirmed = [s for c, s in located if s is not None and _HOST_RECORDS & set(c.sources)]
    if not confirmed:
        return list(crashes)
    neighbour = _neighbour_test(confirmed)
    return [c for c, s in located if s is None or not neighbour(c, s)]


def _neighbour_test(confirmed: Sequence[Site]) -> Callable[[Crash, Site], bool]:
    """A kernel-only crash at a site none of the host's own records name."""
    names = _names(confirmed)
    known = {_name(s, names) for s in confirmed}
    return lambda crash, site: (not _HOST_RECORDS & set(crash.sources)
                                and _name(site, names) not in known)


_HOST_RECORDS = frozenset({"coredump", "gdb", "journal"})


def _names(sites: Sequence[Site]) -> dict[tuple[str, int], str]:
    names: dict[tuple[str, int], str] = {}
    for site in sites:
        if site.function and site.module is not None and site.offset is not None:
            names.setdefault((site.module, site.offset), site.function)
    return names


def _name(site: Site, names: dict[tuple[str, int], str]) -> str:
    if site.module is not None and site.offset is not None:
        found = names.get((site.module, site.offset))
        if found:
            return found
        if not site.function:
            return f"{site.module}+{site.offset:#x}"
    return site.function or "?"


def _count(sites: Sequence[Site], *, unmatched: int) -> SiteCount:
    names = _names(sites)
    functions: dict[str, None] = {}
    offsets: dict[str, dict[int, None]] = {}
    for site in sites:
        function = site.function or names.get((site.module or "", site.offset or 0))
        if function:
            functions[function] = None
        elif site.module is not None and site.offset is not None:
            offsets.setdefault(site.module, {})[site.offset] = None
    widest = max(offsets.items(), key=lambda item: len(item[1]), default=None)
    if widest is not None and len(widest[1]) > len(functions):
        module, found = widest
        return SiteCount(len(found), tuple(f"{module}+{o:#x}" for o in found), len(sites),
                         unmatched)
    return SiteCount(len(functions), tuple(functions), len(sites), unmatched)
