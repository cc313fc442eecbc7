"""Use cases written against small Protocols (ports): investigate, contain, report."""
