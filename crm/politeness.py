"""The shop's politeness rules for campaigns: a frequency cap and quiet hours, kept in the shop
settings (key `campaigns`) with the defaults below. Blocked customers, missing consent and topic
opt-outs need no setting: they always hold a campaign back (crm/delivery.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crm.shop_settings import read_setting, write_setting

SETTING_KEY = "campaigns"


class PolitenessError(ValueError):
    """Rules that cannot be saved (a message key for the inbox)."""


@dataclass(frozen=True)
class Politeness:
    cap_messages: int = 2  # campaign sendings per customer …
    cap_days: int = 7  # … within this many days; 0 messages: no cap
    quiet_start: str = "21:00"  # shop time; campaigns wait until quiet_end
    quiet_end: str = "09:00"
    quiet_enabled: bool = True

    def window(self) -> tuple[time, time]:
        return time.fromisoformat(self.quiet_start), time.fromisoformat(self.quiet_end)


def load_politeness(session: Session) -> Politeness:
    stored = read_setting(session, SETTING_KEY) or {}
    known = {k: v for k, v in stored.items() if k in Politeness.__dataclass_fields__}
    return Politeness(**known)


def save_politeness(session: Session, rules: Politeness) -> None:
    if not 0 <= rules.cap_messages <= 100 or not 1 <= rules.cap_days <= 90:
        raise PolitenessError("frequency_cap_invalid")
    try:
        start, end = rules.window()
    except ValueError:
        raise PolitenessError("quiet_hours_invalid") from None
    if start == end:
        raise PolitenessError("quiet_hours_invalid")
    write_setting(session, SETTING_KEY, asdict(rules))


def quiet_until(rules: Politeness, now: datetime, timezone: str) -> datetime | None:
    """When quiet hours are on at `now` (UTC), the UTC time they end; otherwise None."""
    if not rules.quiet_enabled:
        return None
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    start, end = rules.window()
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock or clock < end if start > end else start <= clock < end
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)
