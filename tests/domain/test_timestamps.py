"""Times in UTC: naive stamps are read as UTC, aware ones converted, the instant kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.timestamps import as_utc


def test_a_naive_stamp_is_read_as_utc() -> None:
    assert as_utc(datetime(2026, 11, 26, 5, 0)) == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)


def test_an_aware_stamp_is_converted_to_utc() -> None:
    berlin = datetime(2026, 11, 26, 6, 0, tzinfo=timezone(timedelta(hours=1)))
    converted = as_utc(berlin)
    assert converted.tzinfo is UTC and converted.hour == 5


_OFFSETS = st.builds(timezone, st.timedeltas(min_value=timedelta(hours=-23),
                                              max_value=timedelta(hours=23)))


@given(st.datetimes(min_value=datetime(1971, 1, 1), timezones=_OFFSETS))
def test_the_instant_is_kept(value: datetime) -> None:
    assert as_utc(value) == value and as_utc(value).utcoffset() == timedelta(0)
