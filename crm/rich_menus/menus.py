"""The shop's rich menus: saving definitions, the default menu (made on first use), and each
menu's state on LINE (draft, published with LINE's menu id, or failed with LINE's words)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.models import Tag
from crm.rich_menus.definitions import FEATURE, MenuError, MenuInput, check_menu
from crm.rich_menus.models import MENU_DRAFT, MENU_FAILED, MENU_PUBLISHED, RichMenu

DEFAULT_NAME = "基本メニュー"
DEFAULT_THEME = {"text": "#ffffff", "background": "#06c755"}
# The default menu's six buttons, with colours that tell them apart at a glance.
DEFAULT_AREAS = [
    {"label": "お問い合わせ", "feature": "inquiry", "color": "#06c755"},
    {"label": "スタンプカード", "feature": "stamp_card", "color": "#f59e0b"},
    {"label": "クーポン", "feature": "coupons", "color": "#ef4444"},
    {"label": "アンケート", "feature": "survey", "color": "#3b82f6"},
    {"label": "配信設定", "feature": "preferences", "color": "#8b5cf6"},
    {"label": "ヘルプ", "feature": "help", "color": "#64748b"},
]


def default_areas() -> list[dict]:
    """The six buttons of the menu a shop starts with."""
    return [
        {
            "label": a["label"],
            "action": {"type": FEATURE, "value": a["feature"]},
            "color": a["color"],
        }
        for a in DEFAULT_AREAS
    ]


def default_input() -> MenuInput:
    return MenuInput(
        name=DEFAULT_NAME,
        areas=default_areas(),
        theme=dict(DEFAULT_THEME),
        is_default=True,
    )


def _check(session: Session, data: MenuInput) -> None:
    check_menu(data)
    if data.tag_id is not None and session.get(Tag, data.tag_id) is None:
        raise MenuError("tag_id", f"no tag {data.tag_id}")


def create_menu(session: Session, data: MenuInput) -> RichMenu:
    """A new draft menu."""
    _check(session, data)
    menu = RichMenu(status=MENU_DRAFT, is_default=False)
    _apply(menu, data)
    session.add(menu)
    session.flush()
    if data.is_default:
        make_default(session, menu)
    return menu


def change_menu(session: Session, menu: RichMenu, data: MenuInput) -> None:
    """Save a new definition; LINE keeps showing the published one until the next publish."""
    _check(session, data)
    _apply(menu, data)
    if data.is_default and not menu.is_default:
        make_default(session, menu)
    menu.status = MENU_DRAFT
    session.flush()


def _apply(menu: RichMenu, data: MenuInput) -> None:
    menu.name = data.name.strip()
    menu.size = data.size
    menu.layout = data.layout
    menu.areas = [_clean_area(area) for area in data.areas]
    menu.chat_bar_text = data.chat_bar_text.strip()
    menu.theme = dict(data.theme)
    menu.tag_id = data.tag_id
    menu.active = data.active
    menu.priority = data.priority


def _clean_area(area: dict) -> dict:
    action = area["action"]
    clean = {
        "label": area["label"].strip(),
        "action": {"type": action["type"], "value": str(action["value"]).strip()},
    }
    clean.update({key: area[key] for key in ("color", "icon") if area.get(key)})
    return clean


def make_default(session: Session, menu: RichMenu) -> None:
    """This menu is the one everyone without a tag menu sees (once published)."""
    session.execute(update(RichMenu).where(RichMenu.is_default).values(is_default=False))
    session.flush()
    menu.is_default = True
    session.flush()


def list_menus(session: Session) -> list[RichMenu]:
    """The default menu first, then tag menus by priority."""
    statement = select(RichMenu).order_by(
        RichMenu.is_default.desc(), RichMenu.priority.desc(), RichMenu.id
    )
    return list(session.scalars(statement))


def default_menu(session: Session) -> RichMenu:
    """The default menu, created (as a draft) the first time it is asked for."""
    found = session.scalar(select(RichMenu).where(RichMenu.is_default))
    if found is not None:
        return found
    try:
        with session.begin_nested():
            return create_menu(session, default_input())
    except IntegrityError:  # another process created it at the same moment
        return session.scalar(select(RichMenu).where(RichMenu.is_default))


def image_digest(image: bytes) -> str:
    return hashlib.sha256(image).hexdigest()


def mark_published(
    session: Session, menu: RichMenu, line_rich_menu_id: str, image: bytes, now: datetime
) -> str | None:
    """LINE has the menu under its new id; returns the id it replaces, if any."""
    replaced = menu.line_rich_menu_id
    menu.line_rich_menu_id = line_rich_menu_id
    menu.image_sha256 = image_digest(image)
    menu.status = MENU_PUBLISHED
    menu.published_at = now
    menu.last_error = None
    session.flush()
    return replaced


def mark_failed(session: Session, menu: RichMenu, error: str) -> None:
    """LINE refused or could not be reached: the menu on LINE (if any) stays as it was."""
    menu.status = MENU_FAILED
    menu.last_error = error[:2000]
    session.flush()


def note_link_error(session: Session, menu_id: int, error: str | None) -> None:
    """Linking customers to a published menu failed (or worked again: None clears it)."""
    menu = session.get(RichMenu, menu_id)
    if menu is None or menu.status != MENU_PUBLISHED:
        return
    menu.last_error = error[:2000] if error else None
    session.flush()


def line_name(menu: RichMenu) -> str:
    """The name LINE keeps for the menu (never shown to customers)."""
    return f"line-crm #{menu.id} {menu.name}"
