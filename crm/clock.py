"""The one place that reads the clock, so tests can move time."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def from_line_timestamp(milliseconds: int) -> datetime:
    """A LINE event timestamp (ms since the epoch) as an aware UTC datetime."""
    return datetime.fromtimestamp(milliseconds / 1000, UTC)
