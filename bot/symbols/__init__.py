"""ELF and DWARF reading with pyelftools: build-ids, debug files, offset -> function and line."""
