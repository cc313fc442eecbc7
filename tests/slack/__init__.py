"""Tests of the Slack surface: events, commands, buttons, reports."""
