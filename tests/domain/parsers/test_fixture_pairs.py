"""Every recorded output under tests/fixtures decodes to what its .json says."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from bot.domain.decode import Section, decode_sections, decode_text
from bot.domain.report_json import report_to_dict
from tests.support.fixture_pairs import (
    FixturePair,
    assert_fact_present,
    assert_subset,
    fixture_pairs,
)

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas/decoded-evidence.schema.json").read_text()
)
NOW = datetime(2026, 6, 1, tzinfo=UTC)
PAIRS = fixture_pairs()


def _section(pair: FixturePair) -> Section:
    # gdb output carries `info proc mappings` too: route it as the gdb command would be.
    if pair.parser == "gdb":
        return Section(output=pair.output, command="gdb -batch exe core")
    if pair.parser == "bundle":  # a whole paste, prompts and all
        return Section(output=pair.output)
    return Section(output=pair.output, parser=pair.parser)


@pytest.mark.parametrize("pair", PAIRS, ids=[p.id for p in PAIRS])
def test_fixture_pair(pair: FixturePair) -> None:
    section = _section(pair)
    if section.parser is None and section.command is None:
        report = decode_text(section.output, now=NOW)
    else:
        report = decode_sections([section], now=NOW)
    actual = report_to_dict(report)
    expected = pair.expected
    if "crashes" in expected:
        assert len(actual["crashes"]) == len(expected["crashes"]), actual["crashes"]
        assert_subset(expected["crashes"], actual["crashes"], "$.crashes")
    for fact in expected.get("facts", []):
        assert_fact_present(fact, actual["facts"])
    if "classification" in expected:
        assert_subset(expected["classification"], actual["classification"], "$.classification")
    if "signature" in expected:
        assert actual["signature"] == expected["signature"]
    actions = {r["action"] for r in actual["recommendations"]}
    assert set(expected.get("recommendations_include", [])) <= actions
    jsonschema.validate(actual, SCHEMA)


def test_every_parser_has_fixtures() -> None:
    from bot.domain.parsers.registry import PARSER_NAMES

    covered = {pair.parser for pair in PAIRS}
    assert PARSER_NAMES - covered <= {"coredumpctl_dump"}, PARSER_NAMES - covered
