"""Tests of adapters that have no folder of their own."""
