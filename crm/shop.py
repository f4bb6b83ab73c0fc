"""Shop-wide preferences staff can change: for now, the time zone shown and scheduled in."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from crm.models import ShopSetting

SETTING_KEY = "shop"


class ShopSettingError(ValueError):
    """A shop preference that cannot be saved."""


def shop_timezone_name(session: Session, default: str) -> str:
    """The time zone staff chose, or the deployment's SHOP_TIMEZONE."""
    setting = session.get(ShopSetting, SETTING_KEY)
    return (setting.value.get("timezone") if setting else None) or default


def set_shop_timezone(session: Session, name: str) -> None:
    """Change the shop's time zone after checking the tz database knows it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ShopSettingError("timezone_invalid") from None
    setting = session.get(ShopSetting, SETTING_KEY)
    if setting is None:
        session.add(ShopSetting(key=SETTING_KEY, value={"timezone": name}))
    else:
        setting.value = {**setting.value, "timezone": name}
