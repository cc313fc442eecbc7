"""Helpers shared by several test folders: databases, local servers, the Slack harness."""
