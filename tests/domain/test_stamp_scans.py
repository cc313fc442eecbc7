"""The fast scans agree with the plain patterns they stand for: the evidence's year, found from
each stamp's literal, and Markdown quotes, removed line by line."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.logline import split_records
from bot.domain.timestamps import find_year
from tests.domain.test_properties import any_text

# The definitions: every ISO date's year and every dmesg -T stamp's year, over the whole text.
_DATE = re.compile(r"\b(20\d{2}|19\d{2})-\d{2}-\d{2}\b")
_DMESG_T = re.compile(r"\d{1,2}:\d{2}:\d{2} (20\d{2})\]")
_QUOTE = re.compile(r"(?m)^[ \t]*>(?:[ \t]*>)*(?:[ \t]+|[ \t]*$)")

_STAMPS = ["2026-01-22", "1999-12-31", "12026-01-02", "x2019-01-01", "2019-20-19-01-01",
           "03:11:07 2026]", "3:11:07 2031]", "a:11:07 2025]", "123:45:67 2024]", "٢٠٢٠-01-01",
           "Jan 22 ", "\n", " ", "-", ":", "]", "[", "0", "9", "2", "> ", ">", "\t>", " > > x"]
stamped = st.lists(st.one_of(st.sampled_from(_STAMPS), st.text(max_size=6)),
                   max_size=40).map("".join)


def _year(text: str) -> int | None:
    years = [int(y) for y in _DATE.findall(text)] + [int(y) for y in _DMESG_T.findall(text)]
    return max(years) if years else None


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=st.one_of(stamped, any_text))
def test_the_year_is_the_latest_any_stamp_prints(text: str) -> None:
    assert find_year(text) == _year(text)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(text=st.one_of(stamped, any_text))
def test_quotes_are_removed_as_from_the_whole_text(text: str) -> None:
    whole = text.replace("\r\n", "\n").replace("\r", "\n")
    if "#012" in whole:
        whole = whole.replace("#012", "\n").replace("#011", "\t")
    assert split_records(text) == _QUOTE.sub("", whole).split("\n")


def test_a_year_inside_a_longer_number_is_not_one() -> None:
    assert find_year("build 12026-01-02 at 1:02:03 2025]") == 2025
