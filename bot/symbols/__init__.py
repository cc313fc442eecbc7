"""ELF and DWARF reading (own readers, struct only): build-ids, debug files, offset -> function
and line. Internal value classes skip generated eq/repr (each is compiled when imported)."""
