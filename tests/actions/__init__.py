"""Tests of the containment actions: proposals, approval, HTTP effects, verification."""
