"""What the configuration says about Slack: the services and their hosts, who may do what, and
how often the report may change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.app.incidents import DEFAULT_WINDOW


@dataclass(frozen=True)
class SlackPolicy:
    """What the configuration says about Slack and who may do what."""

    services: Mapping[str, tuple[str, ...]]  # service -> its inventory hosts
    authorization: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    oncall_usergroup: str | None = None
    proposal_ttl: timedelta = timedelta(hours=4)
    group_window: timedelta = DEFAULT_WINDOW
    min_update_interval: float = 2.0
    global_update_interval: float = 1.2
    # The first post (the phone notification) waits this long for the diagnosis's first
    # result, so it names the signal rather than "diagnosing".
    first_post_wait: float = 2.0
