"""Compiling the test binaries (gcc/g++ -O2 -g), stripping them the way distributions do, and
reading their instructions with objdump."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Built:
    path: Path  # unstripped, full DWARF
    stripped: Path  # strip --strip-all, with a .gnu_debuglink to debug
    debug: Path  # objcopy --only-keep-debug
    build_id: str
    debug_root: Path  # a debug-file directory holding .build-id/xx/rest.debug
    plain: Path | None = None  # before objcopy compressed its sections: for llvm-symbolizer 14


def run_tool(*argv: str | Path) -> str:
    return subprocess.run([str(a) for a in argv], check=True, capture_output=True, text=True).stdout


def need_tools(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (.ci/setup.d/20-symbols.sh installs it)")


def build_id_of(path: Path) -> str:
    for line in run_tool("readelf", "-n", path).splitlines():
        if "Build ID:" in line:
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{path} has no build-id")


def build_program(
    directory: Path, name: str, compiler: str, source: str, *flags: str, compress: str = ""
) -> Built:
    """Compile; with compress (zlib, zlib-gnu for .zdebug_*, zstd), objcopy compresses the
    debug sections of the result, as distribution build roots do."""
    need_tools(compiler, "objcopy", "strip", "readelf")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    plain: Path | None = None
    if compress:
        plain = directory / f"{name}.plain"
        run_tool(compiler, "-O2", "-g", *flags, "-Wl,--build-id", "-o", plain, DATA / source)
        run_tool("objcopy", f"--compress-debug-sections={compress}", plain, path)
    else:
        run_tool(compiler, "-O2", "-g", *flags, "-Wl,--build-id", "-o", path, DATA / source)
    debug = directory / f"{name}.debug"
    stripped = directory / f"{name}.stripped"
    run_tool("objcopy", "--only-keep-debug", path, debug)
    run_tool("strip", "--strip-all", "-o", stripped, path)
    run_tool("objcopy", f"--add-gnu-debuglink={debug}", stripped)
    build_id = build_id_of(path)
    root = directory / f"{name}-debugroot"
    target = root / ".build-id" / build_id[:2] / f"{build_id[2:]}.debug"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(debug, target)
    return Built(path, stripped, debug, build_id, root, plain)


def text_addresses(path: Path) -> list[int]:
    """Every instruction address in .text, from objdump."""
    import re

    listing = run_tool("objdump", "-d", "--section=.text", path)
    return [int(m.group(1), 16) for m in re.finditer(r"^\s+([0-9a-f]+):", listing, re.M)]


def call_sites(path: Path) -> list[tuple[int, int]]:
    """(call instruction address, return address) for every call in .text, from objdump."""
    import re

    listing = run_tool("objdump", "-d", "--no-show-raw-insn", "--section=.text", path)
    out: list[tuple[int, int]] = []
    call: int | None = None
    for line in listing.splitlines():
        where = re.match(r"^\s*([0-9a-f]+)(?: <.+>)?:\s*(\S*)", line)
        if not where:
            continue
        address = int(where.group(1), 16)
        if call is not None:
            out.append((call, address))
        call = address if where.group(2).startswith("call") else None
    return out


def minidebuginfo(built: Built) -> Path:
    """A stripped copy carrying MiniDebugInfo, assembled as Fedora's find-debuginfo does: the
    function symbols .dynsym lacks, kept in an --only-keep-debug copy, xz-compressed, added as
    .gnu_debugdata."""
    need_tools("nm", "xz", "objcopy", "strip")
    work = built.path.parent / "minidebuginfo"
    work.mkdir(exist_ok=True)
    dynamic = {
        line.split()[0]
        for line in run_tool(
            "nm", "-D", "--format=posix", "--defined-only", built.path
        ).splitlines()
        if line
    }
    functions = {
        fields[0]
        for fields in (
            line.split()
            for line in run_tool("nm", "--format=posix", "--defined-only", built.path).splitlines()
        )
        if len(fields) >= 2 and fields[1] in ("T", "t", "D")
    }
    keep = work / "keep-symbols"
    keep.write_text("".join(f"{name}\n" for name in sorted(functions - dynamic)))
    mini = work / "mini"
    run_tool("objcopy", "--only-keep-debug", built.path, work / "debug")
    run_tool(
        "objcopy",
        "-S",
        "--remove-section",
        ".gdb_index",
        "--remove-section",
        ".comment",
        f"--keep-symbols={keep}",
        work / "debug",
        mini,
    )
    run_tool("xz", "-f", mini)
    out = work / built.path.name
    run_tool("strip", "--strip-all", "-o", out, built.path)
    run_tool("objcopy", f"--add-section=.gnu_debugdata={mini}.xz", out)
    return out


@dataclass(frozen=True)
class DwzBuild:
    debug_root: Path  # .build-id/xx/rest.debug for each program, and .dwz/NAME
    debug: tuple[Path, ...]  # the programs' debug files after dwz
    alt: Path  # the supplementary file
    alt_link: str  # the name the debug files link it by


def dwz_multifile(programs: tuple[Built, ...], directory: Path, *, dwarf5: bool) -> DwzBuild:
    """`dwz -m` over the programs' debug files, as distribution build roots run it: the common
    DIEs and strings go to a supplementary file under .dwz/, linked by an absolute path in the
    distribution's debug directory (GNU forms, .gnu_debugaltlink) or, with --dwarf-5, by a bare
    name (.debug_sup and the DW_FORM_*_sup forms)."""
    need_tools("dwz")
    root = directory / "debug"
    (root / ".dwz").mkdir(parents=True, exist_ok=True)
    name = f"segbot-test-{'5' if dwarf5 else 'gnu'}"
    link = name if dwarf5 else f"/usr/lib/debug/.dwz/{name}"
    debug_files = []
    for built in programs:
        target = root / ".build-id" / built.build_id[:2] / f"{built.build_id[2:]}.debug"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built.debug, target)
        debug_files.append(target)
    alt = root / ".dwz" / name
    run_tool("dwz", *(["--dwarf-5"] if dwarf5 else []), "-m", alt, "-M", link, *debug_files)
    return DwzBuild(root, tuple(debug_files), alt, link)


@dataclass(frozen=True)
class SplitBuild:
    binary: Path  # skeleton units only; DW_AT_comp_dir is the build directory
    dwo: tuple[Path, ...]  # the .dwo files gcc wrote beside it
    twin: Path  # the same program built without -gsplit-dwarf (same code, same addresses)


def split_build(directory: Path, name: str, source: str, dwarf: str) -> SplitBuild:
    """`g++ -gsplit-dwarf` (dwarf: -gdwarf-5 or -gdwarf-4), run in directory as a build
    system would, so that the .dwo files land there and comp_dir names it."""
    need_tools("g++")
    directory.mkdir(parents=True, exist_ok=True)
    twin_dir = directory / "twin"
    twin_dir.mkdir(exist_ok=True)
    for out, flags, cwd in (
        (directory / name, ["-gsplit-dwarf"], directory),
        (twin_dir / name, [], twin_dir),
    ):
        subprocess.run(
            [
                "g++",
                "-O2",
                "-g",
                dwarf,
                *flags,
                "-Wl,--build-id",
                "-o",
                str(out),
                str(DATA / source),
            ],
            check=True,
            capture_output=True,
            cwd=cwd,
        )
    return SplitBuild(directory / name, tuple(sorted(directory.glob("*.dwo"))), twin_dir / name)


def dwp_package(split: SplitBuild, directory: Path) -> Path:
    """The program and its .dwp (llvm-dwp: GNU dwp 2.40 crashes on DWARF 5) in directory,
    with no .dwo file anywhere it could be found instead."""
    need_tools("llvm-dwp")
    directory.mkdir(parents=True, exist_ok=True)
    binary = directory / split.binary.name
    shutil.copy(split.binary, binary)
    run_tool("llvm-dwp", "-e", split.binary, "-o", directory / f"{binary.name}.dwp")
    return binary
