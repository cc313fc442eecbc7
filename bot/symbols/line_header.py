"""Parse a DWARF 2-5 line-program header from `.debug_line`: the decoding parameters and the
file table as full paths, joined as addr2line and llvm-symbolizer join them."""

from __future__ import annotations

import posixpath

from bot.symbols.dwarf_die import Unit
from bot.symbols.dwarf_reader import DwarfReader, cstring
from bot.symbols.leb128 import uleb
from bot.symbols.line_program import LineHeader

_DW_LNCT_PATH, _DW_LNCT_DIRECTORY_INDEX = 1, 2


_SIZES = {0x0B: 1, 0x05: 2, 0x06: 4, 0x07: 8, 0x1E: 16, 0x25: 1, 0x26: 2, 0x27: 3, 0x28: 4}


def _prefix(comp_dir: str | None, directory: str | None) -> str:
    """What a relative file name in directory is appended to ("" for none)."""
    if directory and not directory.startswith("/") and comp_dir:
        directory = posixpath.join(comp_dir, directory)
    if not directory:
        return ""
    return directory if directory.endswith("/") else directory + "/"


def join_path(prefix: str, name: str) -> str:
    return name if name.startswith("/") or not prefix else prefix + name


def _value(
    reader: DwarfReader, unit: Unit, data: bytes, pos: int, form: int, offset_size: int
) -> tuple[object, int]:
    if form == 0x08:
        end = data.index(b"\0", pos)
        return data[pos:end].decode("utf-8", "replace"), end + 1
    if form in (0x1F, 0x0E):
        offset = int.from_bytes(data[pos : pos + offset_size], "little")
        table = reader.s.line_str if form == 0x1F else reader.s.str
        return cstring(table, offset), pos + offset_size
    if form in (0x0F, 0x1A):
        value, pos = uleb(data, pos)
        return (reader.string(unit, form, value) if form == 0x1A else value), pos
    if form in _SIZES:
        size = _SIZES[form]
        value = int.from_bytes(data[pos : pos + size], "little")
        if form in (0x25, 0x26, 0x27, 0x28):
            return reader.string(unit, form, value), pos + size
        return value, pos + size
    if form == 0x09:
        size, pos = uleb(data, pos)
        return None, pos + size
    raise ValueError(f"unsupported form {form:#x} in a line table header")


def parse_line_header(
    reader: DwarfReader, unit: Unit, offset: int, comp_dir: str | None
) -> tuple[LineHeader, list[str | None], int, int]:
    """(header, files by the program's file numbers, program start, program end)."""
    data = reader.s.line
    length = int.from_bytes(data[offset : offset + 4], "little")
    offset_size, pos = 4, offset + 4
    if length == 0xFFFFFFFF:
        length = int.from_bytes(data[offset + 4 : offset + 12], "little")
        offset_size, pos = 8, offset + 12
    end = pos + length
    version = int.from_bytes(data[pos : pos + 2], "little")
    pos += 2
    address_size = unit.address_size
    if version >= 5:
        address_size = data[pos]
        pos += 2
    header_length = int.from_bytes(data[pos : pos + offset_size], "little")
    pos += offset_size
    program = pos + header_length
    min_inst = data[pos]
    pos += 1
    if version >= 4:
        pos += 1  # maximum_operations_per_instruction (VLIW only)
    default_is_stmt = data[pos] != 0
    line_base = data[pos + 1] - 256 if data[pos + 1] > 127 else data[pos + 1]
    line_range = data[pos + 2]
    opcode_base = data[pos + 3]
    pos += 4
    lengths = tuple(data[pos : pos + opcode_base - 1])
    pos += opcode_base - 1
    files: list[str | None] = []
    if version >= 5:
        dirs: list[str] = []  # the prefix of each directory
        for target in ("dirs", "files"):
            count = data[pos]
            pos += 1
            formats = []
            for _ in range(count):
                kind, pos = uleb(data, pos)
                form, pos = uleb(data, pos)
                formats.append((kind, form))
            entries, pos = uleb(data, pos)
            for _ in range(entries):
                path: object = None
                dir_index: object = 0
                for kind, form in formats:
                    value, pos = _value(reader, unit, data, pos, form, offset_size)
                    if kind == _DW_LNCT_PATH:
                        path = value
                    elif kind == _DW_LNCT_DIRECTORY_INDEX:
                        dir_index = value
                if target == "dirs":
                    dirs.append(_prefix(comp_dir, path if isinstance(path, str) else None))
                elif isinstance(path, str):
                    index = dir_index if isinstance(dir_index, int) else 0
                    files.append(join_path(dirs[index] if index < len(dirs) else "", path))
                else:
                    files.append(None)
    else:
        include: list[str] = []  # the prefix of each include directory
        while data[pos] != 0:
            end_name = data.index(b"\0", pos)
            include.append(_prefix(comp_dir, data[pos:end_name].decode("utf-8", "replace")))
            pos = end_name + 1
        pos += 1
        files.append(None)  # file numbers start at 1 before DWARF 5
        while data[pos] != 0:
            end_name = data.index(b"\0", pos)
            name = data[pos:end_name].decode("utf-8", "replace")
            pos = end_name + 1
            dir_index, pos = uleb(data, pos)
            _, pos = uleb(data, pos)  # mtime
            _, pos = uleb(data, pos)  # length
            if dir_index == 0:
                prefix = _prefix(comp_dir, comp_dir)
            else:
                prefix = include[dir_index - 1] if dir_index <= len(include) else ""
            files.append(join_path(prefix, name))
    header = LineHeader(
        version=version,
        min_inst_length=min_inst,
        default_is_stmt=default_is_stmt,
        line_base=line_base,
        line_range=line_range,
        opcode_base=opcode_base,
        standard_opcode_lengths=lengths,
        address_size=address_size,
    )
    return header, files, program, end
