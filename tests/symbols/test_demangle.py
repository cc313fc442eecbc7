"""Demangled names match c++filt: every C++ symbol of a real binary, and Rust legacy names."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bot.symbols.demangle import demangle
from symbols.builds import Built

RUST_LEGACY = [
    "_ZN4core3ptr13drop_in_place17h0123456789abcdefE",
    "_ZN5alloc7raw_vec19RawVec$LT$T$C$A$GT$11allocate_in28_$u7b$$u7b$closure$u7d$$u7d$"
    "17h1234567890abcdefE",
    "_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h5c3b6f1e2d4a7b80E",
    "_ZN71_$LT$alloc..vec..Vec$LT$T$C$A$GT$$u20$as$u20$core..ops..drop..Drop$GT$4drop"
    "17h9f8e7d6c5b4a3921E",
]


def _cxxfilt(names: list[str]) -> list[str]:
    if shutil.which("c++filt") is None:
        pytest.skip("c++filt (binutils) is not installed")
    out = subprocess.run(
        ["c++filt"], input="\n".join(names) + "\n", check=True, capture_output=True, text=True
    ).stdout
    return out.splitlines()


def test_cpp_symbols_of_a_real_binary(binaries: dict[str, Built]) -> None:
    listing = subprocess.run(
        ["nm", str(binaries["cc-dwarf5"].path)], check=True, capture_output=True, text=True
    ).stdout
    names = sorted(
        {
            line.split()[-1].split("@")[0]
            for line in listing.splitlines()
            if line.split()[-1].startswith("_Z")
        }
    )
    assert len(names) > 15
    assert [demangle(name) for name in names] == _cxxfilt(names)


def test_rust_legacy_names() -> None:
    assert [demangle(name) for name in RUST_LEGACY] == _cxxfilt(RUST_LEGACY)


def test_plain_and_broken_names_pass_through() -> None:
    assert demangle("main") == "main"
    assert demangle("_Z") == "_Z"
    assert demangle("_ZN3foo") == "_ZN3foo"
