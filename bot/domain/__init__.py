"""Pure domain: text in, typed facts and conclusions out; no I/O, no clocks, no logging."""
