"""What a rich menu is made of, checked against LINE's limits: a size, a grid of areas, each
with a label and one action (a bot feature, a web page, or a message the customer sends).

Limits: https://developers.line.biz/en/reference/messaging-api/#rich-menu-object and
https://developers.line.biz/en/reference/messaging-api/#action-objects"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from crm.field_errors import FieldError
from crm.rich_menus.models import SIZE_COMPACT, SIZE_LARGE, SIZES

PIXELS = {SIZE_LARGE: (2500, 1686), SIZE_COMPACT: (2500, 843)}
LAYOUTS = {
    SIZE_LARGE: ("3x2", "2x2", "3x1", "2x1"),
    SIZE_COMPACT: ("3x1", "2x1", "1x1"),
}
MAX_NAME = 100
MAX_LABEL = 20  # LINE's label limit for rich menu actions
MAX_CHAT_BAR_TEXT = 14
MAX_TEXT = 300  # a message action's text, a postback's data and displayText
MAX_URI = 1000
URI_SCHEMES = ("https://", "http://", "tel:")

FEATURE, URI, MESSAGE = "feature", "uri", "message"
ACTION_TYPES = (FEATURE, URI, MESSAGE)

# The bot's postback actions a menu button can start (bot/handlers.py's table).
FEATURES: dict[str, str] = {
    "inquiry": "action=inquiry",
    "stamp_card": "action=stamp_card",
    "coupons": "action=coupons",
    "member_card": "action=member_card",
    "survey": "action=survey",
    "preferences": "action=preferences",
    "help": "action=help",
}
ICONS = ("chat", "stamp", "ticket", "card", "survey", "bell", "help", "link", "none")
FEATURE_ICONS = {
    "inquiry": "chat",
    "stamp_card": "stamp",
    "coupons": "ticket",
    "member_card": "card",
    "survey": "survey",
    "preferences": "bell",
    "help": "help",
}
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
SURVEY_VALUE = re.compile(r"survey(?::(\d{1,9}))?")


class MenuError(FieldError):
    """A menu definition refused, naming the field (`areas[2].label`, `chat_bar_text`)."""


@dataclass(frozen=True)
class MenuInput:
    """A menu as staff describe it; `areas` in layout order (left to right, top to bottom)."""

    name: str
    size: str = SIZE_LARGE
    layout: str = "3x2"
    areas: list[dict[str, Any]] = field(default_factory=list)
    chat_bar_text: str = "メニュー"
    theme: dict[str, Any] = field(default_factory=dict)
    tag_id: int | None = None
    is_default: bool = False
    active: bool = True
    priority: int = 0


def grid(layout: str) -> tuple[int, int]:
    """Columns and rows of a layout such as "3x2"."""
    columns, rows = layout.split("x")
    return int(columns), int(rows)


def area_count(layout: str) -> int:
    columns, rows = grid(layout)
    return columns * rows


def area_bounds(size: str, layout: str) -> list[dict[str, int]]:
    """Each area's pixels, left to right then top to bottom; the last column and row take the
    remainder, so the areas tile the whole image."""
    width, height = PIXELS[size]
    columns, rows = grid(layout)
    cell_w, cell_h = width // columns, height // rows
    return [
        {
            "x": column * cell_w,
            "y": row * cell_h,
            "width": width - column * cell_w if column == columns - 1 else cell_w,
            "height": height - row * cell_h if row == rows - 1 else cell_h,
        }
        for row in range(rows)
        for column in range(columns)
    ]


def check_menu(data: MenuInput) -> None:
    """Raise MenuError for the first part LINE (or a customer) could not live with."""
    _check_text("name", data.name, MAX_NAME)
    if data.size not in SIZES:
        raise MenuError("size", " / ".join(SIZES))
    if data.layout not in LAYOUTS[data.size]:
        raise MenuError("layout", " / ".join(LAYOUTS[data.size]))
    _check_text("chat_bar_text", data.chat_bar_text, MAX_CHAT_BAR_TEXT)
    if len(data.areas) != area_count(data.layout):
        raise MenuError("areas", f"{area_count(data.layout)} areas for layout {data.layout}")
    for index, area in enumerate(data.areas):
        check_area(area, f"areas[{index}]")
    _check_theme(data.theme)
    if data.is_default and data.tag_id is not None:
        raise MenuError("tag_id", "the default menu is for everyone: no tag")
    if data.is_default and not data.active:
        raise MenuError("active", "the default menu cannot be turned off")


def check_area(area: dict[str, Any], where: str) -> None:
    """A label of 1–20 characters, a known icon and colour, and an action LINE accepts."""
    _check_text(f"{where}.label", area.get("label"), MAX_LABEL)
    if area.get("icon", "none") not in ICONS:
        raise MenuError(f"{where}.icon", " / ".join(ICONS))
    if area.get("color") and not COLOR.fullmatch(area["color"]):
        raise MenuError(f"{where}.color", "a colour as #rrggbb")
    action = area.get("action") or {}
    checker = ACTION_CHECKS.get(action.get("type"))
    if checker is None:
        raise MenuError(f"{where}.action.type", " / ".join(ACTION_TYPES))
    checker(str(action.get("value") or "").strip(), f"{where}.action.value")


def _check_feature(value: str, where: str) -> None:
    if value in FEATURES or SURVEY_VALUE.fullmatch(value):
        return
    raise MenuError(where, " / ".join(FEATURES))


def _check_uri(value: str, where: str) -> None:
    _check_text(where, value, MAX_URI)
    if not value.startswith(URI_SCHEMES) or any(c.isspace() for c in value):
        raise MenuError(where, "a link starting with https://, http:// or tel:")


def _check_message(value: str, where: str) -> None:
    _check_text(where, value, MAX_TEXT)


ACTION_CHECKS = {FEATURE: _check_feature, URI: _check_uri, MESSAGE: _check_message}


def _check_text(where: str, value: Any, high: int) -> None:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= high:
        raise MenuError(where, f"1–{high} characters")


def _check_theme(theme: dict[str, Any]) -> None:
    for key in ("text", "background"):
        if theme.get(key) and not COLOR.fullmatch(str(theme[key])):
            raise MenuError(f"theme.{key}", "a colour as #rrggbb")


def feature_data(value: str) -> str:
    """The postback data of a feature: `survey:12` starts survey 12, `survey` the newest."""
    survey = SURVEY_VALUE.fullmatch(value)
    if survey and survey.group(1):
        return f"{FEATURES['survey']}&id={survey.group(1)}"
    return FEATURES[value]


def line_action(area: dict[str, Any]) -> dict[str, Any]:
    """An area's action as LINE's action object; a postback shows its label as if typed."""
    action, label = area["action"], area["label"].strip()
    value = str(action["value"]).strip()
    if action["type"] == FEATURE:
        return {
            "type": "postback",
            "label": label,
            "data": feature_data(value),
            "displayText": label,
        }
    if action["type"] == URI:
        return {"type": "uri", "label": label, "uri": value}
    return {"type": "message", "label": label, "text": value}


def line_menu(menu, name: str) -> dict[str, Any]:
    """The rich menu object LINE's create endpoint takes, for a stored menu."""
    width, height = PIXELS[menu.size]
    bounds = area_bounds(menu.size, menu.layout)
    return {
        "size": {"width": width, "height": height},
        "selected": True,  # shown open when the chat opens
        "name": name[:300],
        "chatBarText": menu.chat_bar_text,
        "areas": [
            {"bounds": box, "action": line_action(area)}
            for box, area in zip(bounds, menu.areas, strict=True)
        ],
    }


def icon_of(area: dict[str, Any]) -> str:
    """The area's icon: chosen by staff, else the feature's own, else a link or none."""
    if area.get("icon"):
        return area["icon"]
    action = area.get("action") or {}
    if action.get("type") == FEATURE:
        return FEATURE_ICONS.get(str(action.get("value", "")).split(":")[0], "none")
    return "link" if action.get("type") == URI else "none"
