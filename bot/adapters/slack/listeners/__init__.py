"""Bolt listener groups; each module has `register(app, flows)` and stays thin: ack, hand off."""
