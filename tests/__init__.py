"""segbot's test suite: one package; shared helpers live in tests.support."""
