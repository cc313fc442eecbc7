"""All I/O, each kind behind a port: terminal, ssh, store, http, slack, scheduler, web."""
