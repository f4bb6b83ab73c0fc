"""Shop-wide settings stored as JSON by key, read at most once per session.

Handling a batch of events asks for the bot texts, business hours and time zone for every
event; a shop that never saved one would otherwise cost a SELECT each time, since the
identity map remembers rows, not their absence."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from crm.models import ShopSetting

_CACHE_KEY = "shop_settings"


def read_setting(session: Session, key: str) -> dict[str, Any] | None:
    """The setting's stored JSON, or None when never saved."""
    cache = session.info.setdefault(_CACHE_KEY, {})
    if key not in cache:
        row = session.get(ShopSetting, key)
        cache[key] = dict(row.value) if row is not None else None
    return cache[key]


def write_setting(session: Session, key: str, value: dict[str, Any]) -> None:
    """Store the setting (insert or replace) and keep this session's view of it current."""
    row = session.get(ShopSetting, key)
    if row is None:
        session.add(ShopSetting(key=key, value=value))
    else:
        row.value = value
    session.info.setdefault(_CACHE_KEY, {})[key] = dict(value)
