"""Every instruction of real -O2 -g binaries, symbolized and compared frame by frame with
binutils addr2line -f -C -i (function names) and llvm-symbolizer --inlines (file:line, where
binutils 2.40 sometimes names the wrong file for DWARF 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.symbols.elf_file import read_elf
from bot.symbols.symbolizer import ModuleSymbolizer
from tests.symbols.builds import Built, call_sites, need_tools, run_tool, text_addresses
from tests.symbols.oracles import addr2line, llvm_symbolizer
from tests.symbols.ours import assert_agree, disagreements, symbolizer_chains


@pytest.mark.parametrize(
    "name",
    [
        "c-dwarf5",
        "c-dwarf4",
        "cc-dwarf5",
        "cc-dwarf4",
        "orders-dwarf5",
        "orders-dwarf4",
        "cc-zlib",
        "cc-zstd",
        "cc-zdebug",
        "c-zstd-dwarf4",
    ],
)
def test_every_instruction_matches_the_oracles(
    binaries: dict[str, Built], cache_dir: Path, name: str
) -> None:
    need_tools("addr2line", "objdump")
    built = binaries[name]
    addresses = text_addresses(built.path)
    assert len(addresses) > 100
    ours = symbolizer_chains(built.path, addresses, cache_dir)
    # addr2line reads every compression; llvm-symbolizer 14 not zstd, so it reads the same
    # program before objcopy compressed it
    llvm = llvm_symbolizer(built.plain or built.path, addresses)
    binutils = addr2line(built.path, addresses)
    assert_agree(addresses, ours, binutils, llvm)
    inlined = sum(1 for chain in ours if len(chain) > 1)
    assert inlined > 10, "the fixture should exercise inline chains"
    if name.startswith("orders"):  # the agreement target: each whole chain is one tool's
        assert llvm is not None
        whole = [
            a for a, m, x, y in zip(addresses, ours, binutils, llvm, strict=True) if m not in (x, y)
        ]
        assert whole == [], [hex(a) for a in whole[:20]]


def test_functions_without_line_rows_are_named_with_their_file_symbol(
    binaries: dict[str, Built], cache_dir: Path
) -> None:
    """crtstuff's functions have no DWARF here; addr2line and llvm-symbolizer name the file of
    the STT_FILE symbol before them."""
    built = binaries["orders-dwarf5"]
    symbols = {}
    for line in run_tool("nm", built.path).splitlines():
        value, _, name = line.split()[-3:] if len(line.split()) == 3 else ("", "", "")
        symbols[name] = int(value, 16) if value else 0
    wanted = ["deregister_tm_clones", "register_tm_clones", "__do_global_dtors_aux"]
    ours = symbolizer_chains(built.path, [symbols[name] for name in wanted], cache_dir)
    assert ours == [[(name, "crtstuff.c", None)] for name in wanted]
    assert ours == addr2line(built.path, [symbols[name] for name in wanted])


def test_warm_index_answers_the_same_without_opening_the_file(
    binaries: dict[str, Built], cache_dir: Path
) -> None:
    built = binaries["cc-dwarf5"]
    addresses = text_addresses(built.path)
    cold = symbolizer_chains(built.path, addresses, cache_dir)
    with ModuleSymbolizer(read_elf(built.path), cache_dir=cache_dir) as warm_symbolizer:
        warm = [
            [(f.function, f.file, f.line) for f in warm_symbolizer.lookup(a)] for a in addresses
        ]
        assert warm_symbolizer._elf is None  # everything came from the on-disk index
    assert warm == cold
    assert (cache_dir / "index" / built.build_id / "module").is_file()


def test_without_aranges_units_are_found_by_their_ranges(
    binaries: dict[str, Built], no_aranges: Path, cache_dir: Path
) -> None:
    addresses = text_addresses(no_aranges)
    with_aranges = symbolizer_chains(binaries["cc-dwarf5"].path, addresses, cache_dir / "a")
    without = symbolizer_chains(no_aranges, addresses, cache_dir / "b")
    assert without == with_aranges


@pytest.mark.parametrize("name", ["c-dwarf5", "cc-dwarf4"])
def test_return_addresses_name_the_call_site(
    binaries: dict[str, Built], cache_dir: Path, name: str
) -> None:
    """A caller frame's address is the instruction after the call; looking up address - 1 puts
    it on the call, even when the call is the last instruction of its function."""
    built = binaries[name]
    sites = call_sites(built.path)
    assert sites
    returns = [ret for _, ret in sites]
    as_returns = symbolizer_chains(built.path, returns, cache_dir, returns=True)
    at_calls = symbolizer_chains(built.path, [call for call, _ in sites], cache_dir)
    assert [chain[-1][0] for chain in as_returns] == [chain[-1][0] for chain in at_calls]
    before = [ret - 1 for ret in returns]
    bad = disagreements(
        before, as_returns, addr2line(built.path, before), llvm_symbolizer(built.path, before)
    )
    assert bad == [], "\n".join(bad[:20])
