"""Bolt listener groups; each module has `register(app, ...)` and stays thin: ack, hand off."""
