"""The faulting instruction from the kernel's `Code:` bytes, disassembled with capstone.

From the instruction's memory operand and the fault address we can often say what the base
register held: `mov rax, qword ptr [rdi + 0x38]` faulting at 0x38 means rdi was NULL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import capstone
from capstone import x86_const

from bot.domain.evidence import CodeBytes


@dataclass(frozen=True)
class MemoryOperand:
    base: str | None
    index: str | None
    scale: int
    displacement: int
    segment: str | None = None


@dataclass(frozen=True)
class Instruction:
    text: str  # "mov rax, qword ptr [rdi + 0x38]"
    mnemonic: str
    size: int
    memory: MemoryOperand | None
    writes_memory: bool
    base_value: int | None  # what the base register held, when the fault address tells us

    @property
    def is_call_or_jump(self) -> bool:
        return self.mnemonic.startswith(("call", "jmp"))


@lru_cache(maxsize=512)  # a crash loop faults on the same bytes at the same address each time
def disassemble(code: CodeBytes, *, fault_address: int | None) -> Instruction | None:
    """The instruction at the marked byte; None when the bytes do not decode."""
    found = _decoded(code.data[code.fault_index :])
    if found is None:
        return None
    memory = found.memory
    if (
        memory
        and memory.base
        and not memory.index
        and fault_address is not None
        and memory.base not in {"rip", "rsp"}
    ):
        return replace(
            found, base_value=(fault_address - memory.displacement) & 0xFFFFFFFFFFFFFFFF
        )
    return found


@lru_cache(maxsize=512)
def _decoded(data: bytes) -> Instruction | None:
    """Decode once per byte string: a crash loop prints the same `Code:` line every time."""
    engine = capstone.Cs(capstone.CS_ARCH_X86, capstone.CS_MODE_64)
    engine.detail = True
    try:
        found = next(engine.disasm(data, 0), None)
    except capstone.CsError:
        return None
    if found is None:
        return None
    memory = _memory_operand(found)
    return Instruction(
        text=f"{found.mnemonic} {found.op_str}".strip(),
        mnemonic=found.mnemonic,
        size=found.size,
        memory=memory,
        writes_memory=bool(memory) and _writes_memory(found),
        base_value=None,
    )


def _memory_operand(found: capstone.CsInsn) -> MemoryOperand | None:
    for operand in found.operands:
        if operand.type != x86_const.X86_OP_MEM:
            continue
        mem = operand.mem
        if found.mnemonic == "lea":
            return None  # lea computes an address; it never touches memory
        return MemoryOperand(
            base=found.reg_name(mem.base) if mem.base else None,
            index=found.reg_name(mem.index) if mem.index else None,
            scale=mem.scale,
            displacement=mem.disp,
            segment=found.reg_name(mem.segment) if mem.segment else None,
        )
    return None


def _writes_memory(found: capstone.CsInsn) -> bool:
    for operand in found.operands:
        if operand.type == x86_const.X86_OP_MEM and operand.access & capstone.CS_AC_WRITE:
            return True
    return False
