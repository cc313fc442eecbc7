"""Demangled names match c++filt: every C++ symbol of a real binary, and Rust legacy names."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bot.symbols.demangle import demangle
from tests.symbols.builds import Built

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


RUST_V0 = [
    "_RINvC3foo3barKj3_E",
    "_RINvC3foo3barKb1_E",
    "_RINvC3foo3barKc61_E",
    "_RINvC3foo3barKan5_E",
    "_RINvC3foo3barAhj3_E",
    "_RINvC3foo3barFUKCEuE",
    "_RINvC3foo3barFK5cdeclEuE",
    "_RINvC3foo3barFhEmE",
    "_RNvXs_CsbxQjNsTKZZh_4shopINtB4_5FixedmENtB4_4Rule5applyB4_",
    "_RNCNCNCNvNtCsjrHSEGnQ3l9_3std2rt19lang_start_internal00s_0B9_",
]


def test_rust_v0_names() -> None:
    assert [demangle(name) for name in RUST_V0] == _cxxfilt(RUST_V0)


def test_rust_v0_symbols_of_a_real_program(tmp_path_factory: pytest.TempPathFactory) -> None:
    from pathlib import Path

    rustc = shutil.which("rustc") or str(Path.home() / ".cargo" / "bin" / "rustc")
    if not Path(rustc).is_file():
        pytest.skip("rustc is not installed (the fixed v0 names above still run)")
    out = tmp_path_factory.mktemp("rust") / "shop"
    source = Path(__file__).resolve().parent / "data" / "shop.rs"
    subprocess.run(
        [rustc, "-O", "-g", "-C", "symbol-mangling-version=v0", "-o", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    listing = subprocess.run(["nm", str(out)], check=True, capture_output=True, text=True).stdout
    names = sorted(
        {line.split()[-1] for line in listing.splitlines() if line.split()[-1].startswith("_R")}
    )
    assert len(names) > 50
    assert [demangle(name) for name in names] == _cxxfilt(names)
