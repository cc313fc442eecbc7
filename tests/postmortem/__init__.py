"""Tests of the postmortem draft."""
