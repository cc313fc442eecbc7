"""Tests for segbot's web."""
