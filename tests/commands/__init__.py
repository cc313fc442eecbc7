"""Tests of the command-line verbs."""
