"""Real binaries for the symbol tests, compiled once per session with gcc/g++ -O2 -g: C and C++,
DWARF 4 and 5, a stripped copy with its separate debug file, a .build-id tree, a copy without
.debug_aranges and one with compressed debug sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.symbols.builds import Built, build_program, run_tool


@pytest.fixture(scope="session")
def binaries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    base = tmp_path_factory.mktemp("bin")
    return {
        "c-dwarf5": build_program(base / "c5", "pricing", "gcc", "pricing.c", "-gdwarf-5"),
        "c-dwarf4": build_program(base / "c4", "pricing", "gcc", "pricing.c", "-gdwarf-4"),
        "cc-dwarf5": build_program(base / "cc5", "checkout", "g++", "checkout.cc", "-gdwarf-5"),
        "cc-dwarf4": build_program(base / "cc4", "checkout", "g++", "checkout.cc", "-gdwarf-4"),
        "orders-dwarf5": build_program(base / "o5", "orders", "g++", "orders.cc", "-gdwarf-5"),
        "orders-dwarf4": build_program(base / "o4", "orders", "g++", "orders.cc", "-gdwarf-4"),
        "cc-zlib": build_program(
            base / "ccz", "checkout", "g++", "checkout.cc", "-gdwarf-5", "-gz"
        ),
        "cc-zstd": build_program(base / "ccs", "checkout", "g++", "checkout.cc", compress="zstd"),
        "cc-zdebug": build_program(
            base / "ccg", "checkout", "g++", "checkout.cc", "-gdwarf-4", compress="zlib-gnu"
        ),
        "c-zstd-dwarf4": build_program(
            base / "c4s", "pricing", "gcc", "pricing.c", "-gdwarf-4", compress="zstd"
        ),
    }


@pytest.fixture(scope="session")
def no_aranges(binaries: dict[str, Built], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("noaranges") / "checkout"
    run_tool("objcopy", "--remove-section=.debug_aranges", binaries["cc-dwarf5"].path, out)
    return out


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"
