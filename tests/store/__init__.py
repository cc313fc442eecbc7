"""Tests for segbot's store."""
