"""Tests of scheduling: reminders, digests, the leader lock, replicas."""
