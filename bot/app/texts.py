"""What segbot says to people in Slack about actions: titles, refusals and repeats, in one place
so that every path (buttons, commands, the modal, shortcuts) words them the same way."""

from __future__ import annotations

# action (and authorization rule) -> what a person would call it
TITLES: dict[str, str] = {
    "restart_delay": "Slow the restart loop",
    "restart_delay_revert": "Revert the restart delay",
    "preserve_core": "Preserve the core",
    "raise_core_limit": "Fix core capture",
    "free_disk": "Free disk space",
    "disable_flag": "Disable the feature flag",
    "rollback": "Roll back",
    "rerun": "Re-run diagnostics",
    "resolve": "Resolve the incident",
    "diagnose": "Open an incident and diagnose a host",
    "run_sanitizers": "Reproduce under sanitizers",
    "investigate_oom": "Check memory pressure",
    "drain_host": "Drain the host",
}


def title(action: str) -> str:
    """The action's title; an unknown action reads as words, never as a config key."""
    return TITLES.get(action) or action.replace("_", " ").capitalize()


def nobody_may(action: str) -> str:
    return f"nobody may *{title(action)}* yet (whoever runs segbot decides who may)"


def not_among(user: str, action: str) -> str:
    return f"<@{user}> is not among the people who may *{title(action)}*"


def group_unknown(group: str, error: object) -> str:
    return f"segbot could not check who is in user group {group} ({error}), so it says no"


def refused(reason: str) -> str:
    return f"Not allowed: {reason}."


def already(name: str, state: str, by: str | None, user: str) -> str:
    """The answer to a click on something already decided; `by` is who decided it."""
    if state == "unknown":
        return (f"*{name}* was started{' by <@' + by + '>' if by else ''} and its outcome is "
                "unknown (segbot stopped while it ran): segbot will not run it again; check "
                "whether it took effect (the report says where).")
    if by == user:
        if state == "executing":
            return f"You already started *{name}*; it is running."
        return f"You already did *{name}*: {state}."
    who = f" by <@{by}>" if by else ""
    if state == "executing":
        return f"*{name}* was already started{who}; it is running."
    return f"*{name}* was already {state}{who}."
