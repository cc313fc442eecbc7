"""Slack: the Bolt app, its listeners, Block Kit, and the Chat port on the Web API."""
