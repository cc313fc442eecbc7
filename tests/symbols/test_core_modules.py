"""Modules of a real core file (gdb's gcore of a live process), listed from the core alone and
compared with `eu-unstrip -n --core`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.errors import BadElf
from bot.symbols.core_modules import list_core_modules
from bot.symbols.elf_file import read_elf


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    for tool in ("gcore", "eu-unstrip"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (gdb and elfutils; .ci/run installs them)")
    directory = tmp_path_factory.mktemp("core")
    sleeper = subprocess.Popen(["sleep", "120"])
    try:
        done = subprocess.run(
            ["gcore", "-o", str(directory / "core"), str(sleeper.pid)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        sleeper.kill()
        sleeper.wait()
    path = directory / f"core.{sleeper.pid}"
    if done.returncode != 0 or not path.is_file():
        pytest.skip(f"gcore could not dump a core here: {done.stderr.strip()[-200:]}")
    yield path


def _eu_unstrip(core: Path) -> list[tuple[int, int, str, int, str]]:
    out = subprocess.run(
        ["eu-unstrip", "-n", "--core", str(core)], check=True, capture_output=True, text=True
    ).stdout
    rows = []
    for line in out.splitlines():
        match = re.match(
            r"^0x([0-9a-f]+)\+0x([0-9a-f]+) ([0-9a-f]+)@0x([0-9a-f]+) (\S+) \S+ (\S+)", line
        )
        if match:
            start, size, build_id, address, file, name = match.groups()
            rows.append(
                (
                    int(start, 16),
                    int(size, 16),
                    build_id,
                    int(address, 16),
                    file if file not in (".", "-") else name,
                )
            )
    return rows


def test_modules_match_eu_unstrip(core: Path) -> None:
    ours = {m.start: m for m in list_core_modules(core)}
    expected = _eu_unstrip(core)
    assert len(expected) >= 3  # sleep, libc, the dynamic loader (and the vDSO)
    for start, size, build_id, address, file in expected:
        module = ours[start]
        assert module.build_id == build_id
        assert module.build_id_address == address
        # eu-unstrip rounds the main program and the vDSO up to their last mapped page
        assert module.size <= size < module.size + 0x1000 or module.size == size
        if module.name != "[vdso]":
            assert os.path.realpath(module.name) == os.path.realpath(file) or (
                Path(module.name).name == Path(file).name
            )
            assert read_elf(Path(module.name)).build_id == build_id


def test_a_binary_is_not_a_core(tmp_path: Path) -> None:
    with pytest.raises(BadElf, match="not a core file"):
        list_core_modules(Path("/bin/sleep").resolve())
    text = tmp_path / "core"
    text.write_text("no\n")
    with pytest.raises(BadElf, match="not an ELF file"):
        list_core_modules(text)
