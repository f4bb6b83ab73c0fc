"""Shop-wide preferences staff can change: for now, the time zone shown and scheduled in."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from crm.shop_settings import read_setting, write_setting

SETTING_KEY = "shop"


class ShopSettingError(ValueError):
    """A shop preference that cannot be saved."""


def shop_timezone_name(session: Session, default: str) -> str:
    """The time zone staff chose, or the deployment's SHOP_TIMEZONE."""
    return (read_setting(session, SETTING_KEY) or {}).get("timezone") or default


def set_shop_timezone(session: Session, name: str) -> None:
    """Change the shop's time zone after checking the tz database knows it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ShopSettingError("timezone_invalid") from None
    write_setting(
        session, SETTING_KEY, {**(read_setting(session, SETTING_KEY) or {}), "timezone": name}
    )
