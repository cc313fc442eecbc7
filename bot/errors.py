"""The one error tree of segbot; adapters translate third-party errors into it.

    SegbotError                      anything segbot reports as a one-line reason
    ├── UsageError                   bad command-line input (exit status 2)
    ├── ConfigError                  bad configuration file or environment (exit status 2)
    ├── NothingRecognized            the evidence held nothing segbot could decode (exit 1)
    ├── SymbolError                  symbols could not be found or read
    │   ├── DebugInfoNotFound        no debug file for a build-id anywhere we looked
    │   └── BadElf                   truncated, corrupt or not an ELF file
    ├── RemoteError                  talking to a host went wrong
    │   ├── HostKeyRejected          unknown or changed host key (never accepted)
    │   ├── ConnectFailed            TCP, banner or authentication failed or timed out
    │   └── CommandTimedOut          a remote command passed its deadline
    ├── StoreError                   the database refused or is unreachable
    │   └── StaleLease               a claim was taken over: this holder may no longer write
    ├── SlackError                   the Slack Web API failed after retries
    ├── ActionError                  a containment action failed or its outcome is unknown
    ├── ChangeSourceError            a service's git repository or flag service failed
    └── NotFound                     no such incident (or other stored thing)
"""

from __future__ import annotations


class SegbotError(Exception):
    """Base of every error segbot raises on purpose; its message is shown to the user."""

    exit_code = 1


class UsageError(SegbotError):
    exit_code = 2


class ConfigError(SegbotError):
    exit_code = 2


class NothingRecognized(SegbotError):
    pass


class SymbolError(SegbotError):
    pass


class DebugInfoNotFound(SymbolError):
    pass


class BadElf(SymbolError):
    pass


class RemoteError(SegbotError):
    pass


class HostKeyRejected(RemoteError):
    pass


class ConnectFailed(RemoteError):
    pass


class CommandTimedOut(RemoteError):
    pass


class StoreError(SegbotError):
    pass


class StaleLease(StoreError):
    pass


class SlackError(SegbotError):
    pass


class ActionError(SegbotError):
    pass


class NotFound(SegbotError):
    """What was asked for (an incident id, ...) does not exist (exit status 1)."""


class ChangeSourceError(SegbotError):
    pass
