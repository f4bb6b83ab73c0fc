"""Japanese first, English second: Flask-Babel setup and the shop-time-zone date filters."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request, session
from flask_babel import Babel, format_datetime

from crm.shop import shop_timezone_name
from web.context import request_session, services

log = logging.getLogger(__name__)
TRANSLATIONS = Path(__file__).parent / "translations"
LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"
DATETIME_FORMATS = {"ja": "yyyy/MM/dd HH:mm", "en": "MMM d, yyyy HH:mm"}
TIME_FORMATS = {"ja": "M/d HH:mm", "en": "MMM d HH:mm"}


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


def local_datetime(value: datetime | None, style: str = "datetime") -> str:
    """A UTC datetime in the shop's time zone, in the reader's language's format."""
    if value is None:
        return ""
    formats = DATETIME_FORMATS if style == "datetime" else TIME_FORMATS
    return format_datetime(value, formats[select_language()])


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
