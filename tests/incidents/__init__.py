"""Tests for segbot's incidents."""
