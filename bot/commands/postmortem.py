"""`segbot postmortem ID`: the incident's postmortem draft as Markdown or JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer


def command(
    incident_id: Annotated[int, typer.Argument(metavar="ID", help="incident id")],
    output_format: Annotated[Literal["md", "json"], typer.Option(
        "--format", help="md (GitHub, Confluence, Notion) or json")] = "md",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write to this file")]
    = None,
) -> None:
    """The postmortem draft: summary, impact, timeline, signature, factors, action items."""
    from bot.domain.postmortem import draft_postmortem
    from bot.domain.postmortem_render import to_dict, to_markdown
    from bot.errors import NotFound, UsageError
    from bot.wiring.local import crash_times, open_store

    store = open_store()
    detail = store.incident_detail(incident_id)
    if detail is None:
        raise NotFound(f"no incident {incident_id}")
    draft = draft_postmortem(detail, crash_times(store, incident_id))
    text = to_markdown(draft) if output_format == "md" else json.dumps(to_dict(draft), indent=2)
    if output is None:
        print(text, end="" if text.endswith("\n") else "\n")
        return
    try:
        output.write_text(text if text.endswith("\n") else text + "\n")
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror or error}") from None
    print(f"postmortem draft written to {output}")
