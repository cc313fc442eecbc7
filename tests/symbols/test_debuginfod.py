"""Symbols fetched by build-id alone from a real elfutils debuginfod on loopback, with the local
cache, negative caching, timeouts, size limits and bad answers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.adapters.debuginfod import DebuginfodClient
from bot.app.symbolize import symbolize_offsets
from bot.errors import DebugInfoNotFound, SymbolError
from bot.wiring.local import debuginfod_fetcher
from tests.symbols.builds import Built, text_addresses
from tests.symbols.debuginfod_server import debuginfod, odd_server
from tests.symbols.oracles import addr2line
from tests.symbols.ours import by_build_id


@pytest.fixture(scope="module")
def served(binaries: dict[str, Built], tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    built = binaries["cc-dwarf4"]
    root = tmp_path_factory.mktemp("debuginfod")
    files = root / "files"
    files.mkdir()
    shutil.copy(built.debug, files / "checkout.debug")
    shutil.copy(built.stripped, files / "checkout")
    with debuginfod(files, root / "db.sqlite", built.build_id) as url:
        yield url, built


def test_stripped_binary_symbolized_by_build_id_alone(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, built = served
    offsets = text_addresses(built.path)[::40]
    module = by_build_id(built.build_id, offsets, tmp_path, server=url)
    assert module.debug_file == f"{url}/buildid/{built.build_id}/debuginfo"
    expected = addr2line(built.path, offsets)
    names = [[f.function for f in r.frames] for r in module.results]
    assert names == [[name for name, _, _ in chain] for chain in expected]
    cached = tmp_path / "debuginfod" / built.build_id / "debuginfo"
    assert cached.is_file()
    # the second time comes from the cache: nothing listens at the server's address
    again = by_build_id(built.build_id, offsets, tmp_path, server="http://127.0.0.1:9")
    assert again.results == module.results


def test_unknown_build_id_is_a_miss_and_remembered(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, _ = served
    unknown = "0123456789abcdef0123456789abcdef01234567"
    client = DebuginfodClient([url], cache_dir=tmp_path)
    assert client.fetch(build_id=unknown, artifact="debuginfo") is None
    assert (tmp_path / "debuginfod" / unknown / "debuginfo.miss").is_file()
    with odd_server("missing") as (counting_url, handler):
        remembered = DebuginfodClient([counting_url], cache_dir=tmp_path)
        assert remembered.fetch(build_id=unknown, artifact="debuginfo") is None
        assert handler.hits == 0  # answered from the negative cache
    with pytest.raises(DebugInfoNotFound, match=unknown):
        symbolize_offsets(
            build_id=unknown,
            binary=None,
            offsets=[0x10],
            fetcher=client,
            cache_dir=tmp_path,
            system_debug_dirs=(),
        )


def test_a_server_that_never_answers_times_out(tmp_path: Path) -> None:
    with odd_server("silent") as (url, _):
        client = DebuginfodClient([url], cache_dir=tmp_path, timeout_s=0.5)
        with pytest.raises(SymbolError, match="timed out"):
            client.fetch(build_id="ab" * 20, artifact="debuginfo")
    assert not (tmp_path / "debuginfod" / ("ab" * 20) / "debuginfo.miss").exists()


def test_a_corrupt_answer_is_refused(tmp_path: Path) -> None:
    with odd_server("garbage") as (url, _):
        client = DebuginfodClient([url], cache_dir=tmp_path)
        with pytest.raises(SymbolError, match="not a usable ELF"):
            client.fetch(build_id="ab" * 20, artifact="debuginfo")
    assert not (tmp_path / "debuginfod" / ("ab" * 20) / "debuginfo").exists()


def test_an_answer_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    with odd_server("huge") as (url, _):
        client = DebuginfodClient([url], cache_dir=tmp_path, max_bytes=4096)
        with pytest.raises(SymbolError, match="limit"):
            client.fetch(build_id="ab" * 20, artifact="debuginfo")


def test_the_next_server_is_tried_after_a_failing_one(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, built = served
    with odd_server("garbage") as (bad_url, _):
        client = DebuginfodClient([bad_url, url], cache_dir=tmp_path)
        fetched = client.fetch(build_id=built.build_id, artifact="debuginfo")
    assert fetched is not None and fetched.url.startswith(url)


def test_debuginfod_urls_are_space_separated() -> None:
    named = {"DEBUGINFOD_URLS": " http://a:8002  https://b/\thttp://c "}
    fetcher = debuginfod_fetcher(environ=named)
    assert fetcher is not None
    assert fetcher.urls == ["http://a:8002", "https://b/", "http://c"]  # type: ignore[attr-defined]
    assert debuginfod_fetcher(environ={"DEBUGINFOD_URLS": ""}) is None
    assert debuginfod_fetcher(environ={}) is None
    given = debuginfod_fetcher(["http://given"], environ=named)
    assert given is not None and given.urls == ["http://given"]  # type: ignore[attr-defined]
