"""Benchmark: segbot's symbolizer against `addr2line -f -C -i` on a large real binary.

Default target: Debian's libc (package libc6-dbg), its debug file found by build-id in
/usr/lib/debug, 200 random instruction addresses of libc.so.6's .text. Prints, for the same
offsets in the same run: segbot in process cold (index built) and warm (index on disk), the
whole command cold and warm (typer verb and the argparse fast path), addr2line as a whole
command, their ratios, peak memory, and agreement with addr2line / llvm-symbolizer in percent.

    .venv/bin/python bench/symbolize.py [--binary PATH] [--count 200] [--seed 7] [--repeat 5]
        [--instructions]   # also instructions executed (valgrind), whatever the load
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app.symbolize import symbolize_offsets  # noqa: E402
from bot.symbols.elf_file import read_elf  # noqa: E402
from bot.symbols.locate import SYSTEM_DEBUG_DIRS, build_id_paths  # noqa: E402
from tests.symbols.oracles import addr2line, llvm_symbolizer  # noqa: E402


def instruction_offsets(binary: Path, count: int, seed: int) -> list[int]:
    listing = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", "--section=.text", str(binary)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    addresses = [int(m.group(1), 16) for m in re.finditer(r"^\s+([0-9a-f]+):", listing, re.M)]
    return sorted(random.Random(seed).sample(addresses, count))


def run_timed(argv: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Wall seconds, peak RSS in KiB and user+sys CPU seconds of one whole command (GNU time;
    CPU time is steadier than wall time on a shared machine)."""
    timer = "/usr/bin/time" if Path("/usr/bin/time").exists() else shutil.which("time")
    if timer:
        argv = [timer, "-f", "%M %U %S", *argv]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed: {done.stderr}")
    if not timer:
        return elapsed, 0, elapsed
    peak, user, system = done.stderr.strip().splitlines()[-1].split()
    return elapsed, int(peak), float(user) + float(system)


def instructions(argv: list[str], env: dict[str, str]) -> int:
    """Instructions one whole command executes (callgrind): independent of the machine's load."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        capture_output=True,
        text=True,
        env=env,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"valgrind {argv[:4]} failed: {done.stderr[-500:]}")
    return int(found.group(1))


def count_instructions(a2l_argv: list[str], argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "XDG_CACHE_HOME": cache, "DEBUGINFOD_URLS": ""}
        cold, warm = instructions(argv, env), instructions(argv, env)
    a2l = instructions(a2l_argv, dict(os.environ))
    print(
        f"\ninstructions (callgrind): addr2line {a2l / 1e6:.0f} M; python -m bot.commands.symbolize"
        f" cold {cold / 1e6:.0f} M ({cold / a2l:.2f}x), warm {warm / 1e6:.0f} M ({warm / a2l:.2f}x)"
    )


def median(values: list[float]) -> float:
    return statistics.median(values)


def spread(ratios: list[float]) -> str:
    """Median and range of per-round ratios (each against addr2line in the same round)."""
    return f"{median(ratios):5.2f}x ({min(ratios):.2f}-{max(ratios):.2f})"


def agreement(
    debug: Path, offsets: list[int], ours: list[list[tuple[str | None, str | None, int | None]]]
) -> tuple[float, float, list[str]]:
    """(% of offsets whose whole chain matches addr2line or llvm-symbolizer frame by frame,
    % whose outermost function name equals addr2line's, examples of disagreements)."""
    binutils = addr2line(debug, offsets)
    llvm = llvm_symbolizer(debug, offsets) or binutils
    chains_ok = names_ok = 0
    bad: list[str] = []
    renamed: list[str] = []
    for offset, mine, a2l, llv in zip(offsets, ours, binutils, llvm, strict=True):
        outer_a2l = a2l[-1][0] if a2l else None
        if (mine[-1][0] if mine else None) == outer_a2l:
            names_ok += 1
        elif len(renamed) < 5:
            renamed.append(
                f"{offset:#x}: ours {mine[-1][0] if mine else None!r}, addr2line "
                f"{outer_a2l!r}, llvm {llv[-1][0] if llv else None!r}"
            )
        same = mine in (a2l, llv) or (
            len(mine) == len(a2l) == len(llv)
            and all(
                m[0] in (a[0], b[0]) and m[1:] in (a[1:], b[1:])
                for m, a, b in zip(mine, a2l, llv, strict=True)
            )
        )
        if same:
            chains_ok += 1
        elif len(bad) < 5:
            bad.append(f"{offset:#x}: ours {mine}\n    addr2line {a2l}\n    llvm {llv}")
    return 100.0 * chains_ok / len(offsets), 100.0 * names_ok / len(offsets), bad + renamed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", type=Path, default=Path("/lib/x86_64-linux-gnu/libc.so.6"))
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--instructions", action="store_true", help="also count instructions (valgrind)"
    )
    args = parser.parse_args()
    for tool in ("addr2line", "objdump"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed")
    build_id = read_elf(args.binary).build_id
    assert build_id, f"{args.binary} has no build-id"
    debug = next(
        (p for d in SYSTEM_DEBUG_DIRS for p in build_id_paths(d, build_id) if p.is_file()), None
    )
    symbol_paths = [Path("/usr/lib/debug")]
    if debug is None:  # a binary with its own DWARF
        debug, symbol_paths = args.binary, [args.binary]
    offsets = instruction_offsets(args.binary, args.count, args.seed)
    hexes = [hex(o) for o in offsets]
    print(
        f"target {args.binary} build-id {build_id}\n  debug file {debug} "
        f"({debug.stat().st_size / 1e6:.1f} MB), {len(offsets)} offsets, {args.repeat} rounds"
        "\n  ratios: median (range) of per-round ratios, each round timing addr2line beside segbot"
    )

    a2l_argv = ["addr2line", "-f", "-C", "-i", "-e", str(debug), *hexes]
    a2l_runs: list[tuple[float, int, float]] = []

    # in process
    cold_runs, warm_runs = [], []
    result = None
    for _ in range(args.repeat):
        a2l_runs.append(run_timed(a2l_argv, dict(os.environ)))
        with tempfile.TemporaryDirectory() as cache:
            start = time.perf_counter()
            symbolize_offsets(
                build_id=build_id,
                binary=None,
                offsets=offsets,
                symbol_paths=symbol_paths,
                cache_dir=Path(cache),
            )
            cold_runs.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = symbolize_offsets(
                build_id=build_id,
                binary=None,
                offsets=offsets,
                symbol_paths=symbol_paths,
                cache_dir=Path(cache),
            )
            warm_runs.append(time.perf_counter() - start)
    assert result is not None

    # whole commands: the typer verb and the argparse fast path
    python = sys.executable
    # as installed (pip byte-compiles a package): a checkout under PYTHONDONTWRITEBYTECODE
    # would otherwise compile every module on every run, ~50 ms of the cold command
    subprocess.run([python, "-m", "compileall", "-q", str(ROOT / "bot")], check=True)
    commands = {
        "segbot symbolize (typer)": [python, "-m", "bot", "symbolize"],
        "python -m bot.commands.symbolize": [python, "-m", "bot.commands.symbolize"],
    }
    rounds: dict[str, list[tuple[float, float, float, float, int, int]]] = {k: [] for k in commands}
    for _ in range(args.repeat):
        a2l_t, a2l_m, a2l_c = run_timed(a2l_argv, dict(os.environ))
        a2l_runs.append((a2l_t, a2l_m, a2l_c))
        for label, prefix in commands.items():
            argv = [
                *prefix,
                "--build-id",
                build_id,
                *[arg for p in symbol_paths for arg in ("--symbols", str(p))],
                *hexes,
            ]
            with tempfile.TemporaryDirectory() as cache:
                env = {**os.environ, "XDG_CACHE_HOME": cache, "DEBUGINFOD_URLS": ""}
                cold_t, cold_m, cold_c = run_timed(argv, env)
                warm_t, warm_m, warm_c = run_timed(argv, env)
            rounds[label].append(
                (cold_t / a2l_t, warm_t / a2l_t, cold_c / a2l_c, warm_c / a2l_c, cold_m, warm_m)
            )
    a2l = median([r[0] for r in a2l_runs])

    ours = [[(f.function, f.file, f.line) for f in r.frames] for r in result.results]
    chains, names, bad = agreement(debug, offsets, ours)

    a2l_cpu = median([r[2] for r in a2l_runs])
    print(
        f"\naddr2line -f -C -i (whole command)   median {a2l * 1000:7.1f} ms   "
        f"cpu {a2l_cpu * 1000:.0f} ms   peak {max(r[1] for r in a2l_runs) / 1024:.0f} MiB"
    )
    print(
        f"segbot in process, cold (index built) median {median(cold_runs) * 1000:7.1f} ms   "
        f"{median(cold_runs) / a2l:5.2f}x addr2line's median"
    )
    print(
        f"segbot in process, warm (index on disk) median {median(warm_runs) * 1000:6.1f} ms   "
        f"{median(warm_runs) / a2l:5.2f}x addr2line's median"
    )
    for label, runs in rounds.items():
        print(
            f"{label:34s} cold {spread([r[0] for r in runs])}   "
            f"warm {spread([r[1] for r in runs])}   "
            f"cpu: cold {median([r[2] for r in runs]):4.2f}x, "
            f"warm {median([r[3] for r in runs]):4.2f}x   "
            f"peak {max(r[4] for r in runs) / 1024:.0f}/{max(r[5] for r in runs) / 1024:.0f} MiB"
        )
    print(
        f"\nagreement: {chains:.1f}% of offsets match addr2line or llvm-symbolizer frame by "
        f"frame (inline chains included); outermost function = addr2line's: {names:.1f}%"
    )
    for line in bad:
        print("  " + line)
    if args.instructions and shutil.which("valgrind") is None:
        print("\ninstructions: valgrind is not installed")
    elif args.instructions:
        fast = [python, "-m", "bot.commands.symbolize", "--build-id", build_id]
        fast += [arg for p in symbol_paths for arg in ("--symbols", str(p))]
        count_instructions(a2l_argv, [*fast, *hexes])


if __name__ == "__main__":
    main()
