"""The composition root: the one place that builds adapters and hands them to the use cases.
`local` (the store, symbol sources, terminal output, the demo), `ssh` (diagnosis over SSH),
`serve` (Slack, the web server, containment, the scheduler). Imports stay inside the
functions, so a verb pays only for what it builds."""
