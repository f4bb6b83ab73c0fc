"""Business hours, holidays and the away message the bot sends outside them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crm.line_limits import MAX_TEXT_UTF16, utf16_length
from crm.shop_settings import read_setting, write_setting

SETTING_KEY = "business_hours"
DEFAULT_AWAY_MESSAGE = (
    "お問い合わせありがとうございます。ただいま営業時間外のため、"
    "{next_open}以降に担当者より順にお返事いたします。"
)
NEXT_OPEN = "{next_open}"  # in the away message: when the shop opens next, in shop time
NEXT_OPEN_UNKNOWN = "営業時間になりましたら"  # no opening in the next fortnight
WEEKDAY_NAMES = "月火水木金土日"
LOOKAHEAD_DAYS = 14
_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
WEEKDAYS = range(7)  # Monday = 0, as datetime.weekday()


class BusinessHoursError(ValueError):
    """Hours that cannot be saved."""


@dataclass(frozen=True)
class BusinessHours:
    """Opening ranges per weekday (local times), closed dates, and the away message."""

    enabled: bool = False
    weekly: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    away_message: str = DEFAULT_AWAY_MESSAGE

    def is_open(self, local: datetime) -> bool:
        """Whether the shop is open at this local time; always open when hours are off."""
        if not self.enabled:
            return True
        if local.date() in self.holidays:
            return False
        now = local.time()
        return any(start <= now < end for start, end in self.weekly.get(local.weekday(), ()))


def parse_range(text: str) -> tuple[time, time]:
    """'09:00-18:00' (or '9:00-18:00', full-width too) → (09:00, 18:00); end after start."""
    parts = [_TIME_RE.match(p.strip()) for p in unicodedata.normalize("NFKC", text).split("-")]
    if len(parts) != 2 or not all(parts):
        raise BusinessHoursError("hours_invalid")
    start, end = (time(int(m.group(1)), int(m.group(2))) for m in parts)
    if end <= start:
        raise BusinessHoursError("hours_invalid")
    return start, end


def parse_day(text: str) -> tuple[tuple[time, time], ...]:
    """'11:00-14:00, 17:00-22:00' → two ranges; empty means closed all day."""
    return tuple(parse_range(part) for part in text.split(",") if part.strip())


def parse_holidays(text: str) -> frozenset[date]:
    """One date per line or comma, YYYY-MM-DD (slashes accepted)."""
    days = set()
    for part in re.split(r"[\s,]+", text.strip()):
        if not part:
            continue
        try:
            days.add(date.fromisoformat(part.replace("/", "-")))
        except ValueError:
            raise BusinessHoursError("holiday_invalid") from None
    return frozenset(days)


def format_day(ranges: tuple[tuple[time, time], ...]) -> str:
    """The inverse of parse_day, for the settings form."""
    return ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in ranges)


def load_business_hours(session: Session) -> BusinessHours:
    """The shop's hours as saved, or 'always open' when never set."""
    value = read_setting(session, SETTING_KEY)
    if value is None:
        return BusinessHours()
    weekly = {
        int(day): tuple(parse_range(r) for r in ranges)
        for day, ranges in (value.get("weekly") or {}).items()
    }
    return BusinessHours(
        enabled=bool(value.get("enabled")),
        weekly=weekly,
        holidays=frozenset(date.fromisoformat(d) for d in value.get("holidays") or ()),
        away_message=value.get("away_message") or DEFAULT_AWAY_MESSAGE,
    )


def save_business_hours(session: Session, hours: BusinessHours) -> None:
    """Store the hours as JSON."""
    if not hours.away_message.strip() or utf16_length(hours.away_message) > MAX_TEXT_UTF16:
        raise BusinessHoursError("away_message_invalid")
    value = {
        "enabled": hours.enabled,
        "weekly": {
            str(day): [f"{s:%H:%M}-{e:%H:%M}" for s, e in ranges]
            for day, ranges in hours.weekly.items()
        },
        "holidays": sorted(d.isoformat() for d in hours.holidays),
        "away_message": hours.away_message.strip(),
    }
    write_setting(session, SETTING_KEY, value)


def away_reply_due(
    hours: BusinessHours, now: datetime, last_sent: datetime | None, tz: ZoneInfo
) -> bool:
    """Outside hours, and not yet sent to this customer on this local day."""
    local = now.astimezone(tz)
    if hours.is_open(local):
        return False
    return last_sent is None or last_sent.astimezone(tz).date() != local.date()


def next_opening(hours: BusinessHours, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the shop next opens (local time), within two weeks; None when hours are off, the
    shop is open now, or no opening is set in that time."""
    local = now.astimezone(tz)
    if hours.is_open(local):
        return None
    for offset in range(LOOKAHEAD_DAYS + 1):
        day = local.date() + timedelta(days=offset)
        if day in hours.holidays:
            continue
        for start, _end in sorted(hours.weekly.get(day.weekday(), ())):
            opening = datetime.combine(day, start, tzinfo=tz)
            if opening > local:
                return opening
    return None


def away_text(hours: BusinessHours, now: datetime, tz: ZoneInfo) -> str:
    """The away message with `{next_open}` filled in (e.g. 12月2日(水) 11:00)."""
    if NEXT_OPEN not in hours.away_message:
        return hours.away_message
    opening = next_opening(hours, now, tz)
    when = NEXT_OPEN_UNKNOWN if opening is None else _when(opening, now.astimezone(tz))
    text = hours.away_message.replace(NEXT_OPEN, when)
    return text.replace(f"{NEXT_OPEN_UNKNOWN}以降に", NEXT_OPEN_UNKNOWN)


def _when(opening: datetime, local_now: datetime) -> str:
    clock = f"{opening.hour}:{opening.minute:02d}"
    if opening.date() == local_now.date():
        return f"本日{clock}"
    if opening.date() == local_now.date() + timedelta(days=1):
        return f"明日{clock}"
    weekday = WEEKDAY_NAMES[opening.weekday()]
    return f"{opening.month}月{opening.day}日({weekday}) {clock}"
