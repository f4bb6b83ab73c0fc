"""Business hours are a pure rule: facts and `now` in, an answer out."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from crm.business_hours import (
    BusinessHours,
    BusinessHoursError,
    away_reply_due,
    parse_day,
    parse_holidays,
)

TOKYO = ZoneInfo("Asia/Tokyo")
HOURS = BusinessHours(
    enabled=True,
    weekly={0: ((time(11), time(14)), (time(17), time(22)))},  # Mondays only
    holidays=frozenset({date(2026, 11, 30)}),
)


@pytest.mark.parametrize(
    ("local", "is_open"),
    [
        (datetime(2026, 11, 23, 11, 0, tzinfo=TOKYO), True),  # Monday, opening minute
        (datetime(2026, 11, 23, 13, 59, tzinfo=TOKYO), True),
        (datetime(2026, 11, 23, 14, 0, tzinfo=TOKYO), False),  # lunch break
        (datetime(2026, 11, 23, 21, 30, tzinfo=TOKYO), True),
        (datetime(2026, 11, 23, 22, 0, tzinfo=TOKYO), False),
        (datetime(2026, 11, 24, 12, 0, tzinfo=TOKYO), False),  # Tuesday: closed
        (datetime(2026, 11, 30, 12, 0, tzinfo=TOKYO), False),  # a Monday holiday
    ],
)
def test_is_open(local, is_open):
    assert HOURS.is_open(local) is is_open


def test_disabled_hours_are_always_open():
    assert BusinessHours(enabled=False).is_open(datetime(2026, 1, 1, 3, tzinfo=TOKYO))


@pytest.mark.parametrize(
    ("now_utc", "last_sent", "due"),
    [
        (datetime(2026, 11, 24, 3, tzinfo=UTC), None, True),  # Tue 12:00 JST, never sent
        (datetime(2026, 11, 24, 3, tzinfo=UTC), datetime(2026, 11, 24, 1, tzinfo=UTC), False),
        # Sent Monday 23:00 JST (14:00 UTC); Tuesday 09:00 JST is another shop day.
        (datetime(2026, 11, 24, 0, tzinfo=UTC), datetime(2026, 11, 23, 14, tzinfo=UTC), True),
        (datetime(2026, 11, 23, 3, tzinfo=UTC), None, False),  # Monday 12:00 JST: open
    ],
)
def test_away_reply_once_per_local_day(now_utc, last_sent, due):
    assert away_reply_due(HOURS, now_utc, last_sent, TOKYO) is due


def test_ranges_accept_single_digit_hours_and_full_width_digits():
    assert parse_day("9:00-18:00, １９:００-２１:００") == (
        (time(9), time(18)),
        (time(19), time(21)),
    )


@pytest.mark.parametrize("text", ["18:00-09:00", "10:00-10:00", "10:00", "10:00-25:00", "a-b"])
def test_bad_ranges_are_refused(text):
    with pytest.raises(BusinessHoursError):
        parse_day(text)


def test_holidays_accept_slashes_and_refuse_nonsense():
    assert parse_holidays("2026/12/31, 2027-01-01") == {date(2026, 12, 31), date(2027, 1, 1)}
    with pytest.raises(BusinessHoursError):
        parse_holidays("大晦日")
