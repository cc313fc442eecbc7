"""ELF and DWARF reading (own readers, struct only): build-ids, debug files, offset -> function
and line."""
