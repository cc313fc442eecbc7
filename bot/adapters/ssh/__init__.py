"""Commands and copies over SSH with paramiko: pinned host keys, deadlines, capped output."""

from bot.adapters.ssh.runner import PRELUDE, SshRunner

__all__ = ["PRELUDE", "SshRunner"]
