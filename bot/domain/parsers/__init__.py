"""One parser per evidence source; each takes text and returns typed facts, never raising."""
