"""Japanese first, English second: Flask-Babel setup and the shop-time-zone date filters."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request, session
from flask_babel import Babel

from crm.shop import shop_timezone_name
from request_scope import request_session, services

log = logging.getLogger(__name__)
TRANSLATIONS = Path(__file__).parent / "translations"
LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
# strftime patterns: a page of 50 chats or a long timeline formats hundreds of times, and
# strftime is several times cheaper than a locale-aware formatter for these fixed patterns.
FORMATS = {
    "ja": {"datetime": "%Y/%m/%d %H:%M", "short": "%m/%d %H:%M"},
    "en": {"datetime": "%b %d, %Y %H:%M", "short": "%b %d %H:%M"},
}


def select_language() -> str:
    """The signed-in staff member's language; before sign-in, ?lang= or the cookie's; ja."""
    staff = g.get("staff")
    if staff is not None and staff.language in LANGUAGES:
        return staff.language
    chosen = request.args.get("lang") or session.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return chosen
    return DEFAULT_LANGUAGE


def select_timezone() -> str:
    """The shop's time zone: staff's choice in settings, else SHOP_TIMEZONE."""
    if "shop_tz" not in g:
        g.shop_tz = shop_timezone_name(request_session(), services().settings.shop_timezone)
    return g.shop_tz


def shop_zone() -> ZoneInfo:
    """The shop's time zone as an object, looked up once per request."""
    if "shop_zone" not in g:
        g.shop_zone = ZoneInfo(select_timezone())
    return g.shop_zone


def local_datetime(value: datetime | None, style: str = "datetime") -> str:
    """A UTC datetime in the shop's time zone, in the reader's language's format."""
    if value is None:
        return ""
    return value.astimezone(shop_zone()).strftime(FORMATS[select_language()][style])


def compile_catalogs(folder: Path = TRANSLATIONS) -> None:
    """Build .mo files from the .po sources when missing or older (no build step needed)."""
    for po_path in folder.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            with po_path.open("rb") as po_file:
                catalog = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalog)
        except OSError:
            log.warning("could not compile %s; the inbox falls back to English", po_path)


def init_i18n(app: Flask) -> None:
    """Attach Flask-Babel with our selectors and the date filters."""
    compile_catalogs()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LANGUAGE
    Babel(app, locale_selector=select_language, timezone_selector=select_timezone)
    app.jinja_env.filters["localtime"] = local_datetime
