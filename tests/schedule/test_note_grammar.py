"""`/segfault note [#ID] TEXT` in the command grammar."""

from __future__ import annotations

from bot.app.slash_grammar import MAX_NOTE_CHARS, Invalid, Note, parse

SERVICES = {"checkout-api": ("node-17",)}


def test_note_with_and_without_an_incident_number() -> None:
    assert parse("note rollback done, watching", services=SERVICES) == Note(
        "rollback done, watching", None)
    assert parse("note #12 error rate at baseline", services=SERVICES) == Note(
        "error rate at baseline", 12)
    assert parse("NOTE  12 is the port we use", services=SERVICES) == Note(
        "12 is the port we use", None)  # a bare number is text; the id needs its #


def test_empty_or_too_long_notes_are_explained() -> None:
    for text in ("note", "note   ", "note #12"):
        answer = parse(text, services=SERVICES)
        assert isinstance(answer, Invalid) and "needs the text" in answer.reason
    answer = parse("note " + "x" * (MAX_NOTE_CHARS + 1), services=SERVICES)
    assert isinstance(answer, Invalid) and str(MAX_NOTE_CHARS) in answer.reason
