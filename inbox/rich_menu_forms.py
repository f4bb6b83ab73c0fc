"""The rich menu editor's form: what staff typed, as MenuInput for crm/rich_menus to check, and a
stored menu back as the form's fields. Every area row is kept as typed, so a form sent back with
an error shows it; only the rows the layout has are read."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from crm.rich_menus.definitions import (
    FEATURE,
    MESSAGE,
    URI,
    MenuError,
    MenuInput,
    area_count,
)
from crm.rich_menus.menus import DEFAULT_THEME, default_areas
from crm.rich_menus.models import SIZE_LARGE, RichMenu

AREA_ROWS = 6  # the most areas a layout has (3x2, 2x3)
FEATURE_NAMES = {
    "inquiry": _l("Inquiry (category menu)"),
    "stamp_card": _l("Stamp card"),
    "coupons": _l("Coupons"),
    "member_card": _l("Member card"),
    "survey": _l("Survey (the newest)"),
    "preferences": _l("Message preferences"),
    "help": _l("Help"),
}
ACTION_NAMES = {
    FEATURE: _l("Bot feature"),
    URI: _l("Open a web page"),
    MESSAGE: _l("Send a message"),
}
ICON_NAMES = {
    "": _l("By the action"),
    "chat": _l("Speech bubble"),
    "stamp": _l("Stamp"),
    "ticket": _l("Ticket"),
    "card": _l("Card"),
    "survey": _l("Clipboard"),
    "bell": _l("Bell"),
    "help": _l("Question mark"),
    "link": _l("Globe"),
    "none": _l("No icon"),
}


@dataclass
class AreaFields:
    label: str = ""
    type: str = FEATURE
    feature: str = "help"
    text: str = ""  # the link or the message
    color: str = "#06c755"
    icon: str = ""


@dataclass
class MenuFields:
    name: str = ""
    size: str = SIZE_LARGE
    layout: str = "3x2"
    chat_bar_text: str = "メニュー"
    tag_id: str = ""
    priority: str = "0"
    is_default: bool = False
    active: bool = True
    text_color: str = DEFAULT_THEME["text"]
    background: str = DEFAULT_THEME["background"]
    areas: list[AreaFields] = field(default_factory=list)


def _area_fields(area: dict) -> AreaFields:
    action = area.get("action") or {}
    is_feature = action.get("type") == FEATURE
    return AreaFields(
        label=area.get("label", ""),
        type=action.get("type", FEATURE),
        feature=action.get("value", "help") if is_feature else "help",
        text="" if is_feature else action.get("value", ""),
        color=area.get("color", "#06c755"),
        icon=area.get("icon", ""),
    )


def _padded(areas: list[AreaFields]) -> list[AreaFields]:
    return areas + [AreaFields() for _ in range(AREA_ROWS - len(areas))]


def new_menu_fields() -> MenuFields:
    """A new menu starts from the default menu's buttons."""
    return MenuFields(areas=_padded([_area_fields(area) for area in default_areas()]))


def menu_fields_of(menu: RichMenu) -> MenuFields:
    theme = menu.theme or {}
    return MenuFields(
        name=menu.name,
        size=menu.size,
        layout=menu.layout,
        chat_bar_text=menu.chat_bar_text,
        tag_id="" if menu.tag_id is None else str(menu.tag_id),
        priority=str(menu.priority),
        is_default=menu.is_default,
        active=menu.active,
        text_color=theme.get("text", DEFAULT_THEME["text"]),
        background=theme.get("background", DEFAULT_THEME["background"]),
        areas=_padded([_area_fields(area) for area in menu.areas]),
    )


def menu_fields_from_form(form) -> MenuFields:
    """The posted form as typed."""
    areas = [
        AreaFields(
            label=form.get(f"area{n}_label", ""),
            type=form.get(f"area{n}_type", FEATURE),
            feature=form.get(f"area{n}_feature", "help"),
            text=form.get(f"area{n}_text", ""),
            color=form.get(f"area{n}_color", "#06c755"),
            icon=form.get(f"area{n}_icon", ""),
        )
        for n in range(AREA_ROWS)
    ]
    return MenuFields(
        name=form.get("name", ""),
        size=form.get("size", SIZE_LARGE),
        layout=form.get("layout", "3x2"),
        chat_bar_text=form.get("chat_bar_text", ""),
        tag_id=form.get("tag_id", ""),
        priority=form.get("priority", "0"),
        is_default=form.get("is_default") == "1",
        active=form.get("active") == "1",
        text_color=form.get("text_color", ""),
        background=form.get("background", ""),
        areas=areas,
    )


def _number(raw: str, where: str, optional: bool = False) -> int | None:
    raw = (raw or "").strip()
    if not raw and optional:
        return None
    try:
        return int(raw)
    except ValueError:
        raise MenuError(where, "a whole number") from None


def _area(area: AreaFields) -> dict:
    value = area.feature if area.type == FEATURE else area.text
    clean = {"label": area.label, "action": {"type": area.type, "value": value}}
    clean.update({key: getattr(area, key) for key in ("color", "icon") if getattr(area, key)})
    return clean


def menu_input(fields: MenuFields) -> MenuInput:
    """The form as a definition; MenuError for numbers that are not numbers (the rest is
    checked by crm/rich_menus)."""
    try:
        count = area_count(fields.layout)
    except ValueError:
        raise MenuError("layout", "columns x rows, such as 3x2") from None
    return MenuInput(
        name=fields.name,
        size=fields.size,
        layout=fields.layout,
        areas=[_area(area) for area in fields.areas[:count]],
        chat_bar_text=fields.chat_bar_text,
        theme={"text": fields.text_color, "background": fields.background},
        tag_id=_number(fields.tag_id, "tag_id", optional=True),
        is_default=fields.is_default,
        active=fields.active,
        priority=_number(fields.priority, "priority") or 0,
    )
