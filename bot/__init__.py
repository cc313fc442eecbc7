"""segbot: a Slack chat-ops bot for native crashes in production services."""
