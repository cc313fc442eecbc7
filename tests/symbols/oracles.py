"""Run the reference symbolizers (binutils addr2line, llvm-symbolizer) on addresses and return
their inline chains as (function, file, line) tuples, innermost first."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

Chain = list[tuple[str | None, str | None, int | None]]


def _split_location(text: str) -> tuple[str | None, int | None]:
    text = text.split(" (discriminator", 1)[0]
    file, _, line = text.rpartition(":")
    if not file or file == "??":
        return None, None
    if line == "?":  # a file without a line: a function known only by its STT_FILE symbol
        return file, None
    try:
        number = int(line)
    except ValueError:
        return None, None
    return file, number or None


def addr2line(path: Path, addresses: Sequence[int]) -> list[Chain]:
    """`addr2line -f -C -i -a`: each answer starts with the address line it was asked for."""
    out = subprocess.run(
        ["addr2line", "-f", "-C", "-i", "-a", "-e", str(path), *(hex(a) for a in addresses)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    chains: list[Chain] = []
    i = 0
    while i < len(out):
        if out[i].startswith("0x") and (i + 1 >= len(out) or not out[i].startswith("0x0x")):
            chains.append([])
            i += 1
            continue
        function = out[i]
        file, line = _split_location(out[i + 1])
        chains[-1].append((None if function == "??" else function, file, line))
        i += 2
    return chains


def llvm_symbolizer(path: Path, addresses: Sequence[int]) -> list[Chain] | None:
    if shutil.which("llvm-symbolizer") is None:
        return None
    out = subprocess.run(
        [
            "llvm-symbolizer",
            "--inlines",
            "--output-style=JSON",
            "-e",
            str(path),
            *(hex(a) for a in addresses),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    chains: list[Chain] = []
    records = []
    for line in out.splitlines():
        parsed = json.loads(line)
        records.extend(parsed if isinstance(parsed, list) else [parsed])
    for record in records:
        chain: Chain = []
        for frame in record.get("Symbol", []):
            name = frame.get("FunctionName") or None
            file = frame.get("FileName") or None
            number = frame.get("Line") or None
            if name is None and file is None:
                continue
            chain.append((name, file, number))
        chains.append(chain)
    return chains


def eu_addr2line_names(path: Path, addresses: Sequence[int]) -> list[str | None] | None:
    """Function names from elfutils' `eu-addr2line -f -C`, which reads .gnu_debugdata."""
    if shutil.which("eu-addr2line") is None:
        return None
    out = subprocess.run(
        ["eu-addr2line", "-f", "-C", "-e", str(path), *(hex(a) for a in addresses)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    names = out[0::2]
    return [None if name == "??" else name for name in names]
