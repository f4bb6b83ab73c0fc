"""The shop's inquiry categories (the お問い合わせ menu) and who gets each category's chats:
a fixed assignee, a round robin over several staff, or nobody (the unassigned folder)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.field_errors import FieldError, distinct_texts
from crm.inquiries.models import Inquiry
from crm.models import Staff
from crm.shop_settings import read_setting, write_setting

SETTING_KEY = "inquiries"
DEFAULT_CATEGORIES = ("予約", "営業時間・アクセス", "商品", "その他")
MAX_CATEGORIES = 12  # the category menu's quick replies leave room for one more button
MAX_CATEGORY_LABEL = 20  # a quick reply's label

ROUTE_NONE = "none"
ROUTE_FIXED = "fixed"
ROUTE_ROUND_ROBIN = "round_robin"
ROUTE_MODES = (ROUTE_NONE, ROUTE_FIXED, ROUTE_ROUND_ROBIN)


class RoutingError(FieldError):
    """A routing setting refused, naming the field."""


@dataclass(frozen=True)
class Route:
    """Who gets a category's chats: nobody, one staff member, or the listed staff in turn."""

    mode: str = ROUTE_NONE
    staff_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class InquirySettings:
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    routes: dict[str, Route] = field(default_factory=dict)  # category → route
    fallback: Route = Route()  # chats with no category, or a category with no route


def load_inquiry_settings(session: Session) -> InquirySettings:
    stored = read_setting(session, SETTING_KEY) or {}
    categories = tuple(stored.get("categories") or DEFAULT_CATEGORIES)
    routes = {name: _route(value) for name, value in (stored.get("routes") or {}).items()}
    return InquirySettings(categories, routes, _route(stored.get("fallback") or {}))


def _route(value: dict[str, Any]) -> Route:
    return Route(str(value.get("mode") or ROUTE_NONE), tuple(value.get("staff_ids") or ()))


def save_inquiry_settings(session: Session, settings: InquirySettings) -> None:
    """Store the categories and routes, after checking names, modes and staff."""
    categories = _check_categories(settings.categories)
    for name, route in settings.routes.items():
        if name not in categories:
            raise RoutingError(f"routes.{name}", "not one of the categories")
        _check_route(session, f"routes.{name}", route)
    _check_route(session, "fallback", settings.fallback)
    value = {
        "categories": list(categories),
        "routes": {name: _stored(route) for name, route in settings.routes.items()},
        "fallback": _stored(settings.fallback),
    }
    write_setting(session, SETTING_KEY, value)


def _stored(route: Route) -> dict[str, Any]:
    return {"mode": route.mode, "staff_ids": list(route.staff_ids)}


def _check_categories(categories: tuple[str, ...]) -> tuple[str, ...]:
    names = distinct_texts(
        categories,
        "categories",
        RoutingError,
        most=MAX_CATEGORIES,
        longest=MAX_CATEGORY_LABEL,
        none_message="at least one category",
        many_message=f"at most {MAX_CATEGORIES}",
    )
    return tuple(names)


def _check_route(session: Session, where: str, route: Route) -> None:
    if route.mode not in ROUTE_MODES:
        raise RoutingError(f"{where}.mode", " / ".join(ROUTE_MODES))
    if route.mode == ROUTE_NONE:
        return
    if not route.staff_ids or (route.mode == ROUTE_FIXED and len(route.staff_ids) != 1):
        raise RoutingError(f"{where}.staff_ids", "one staff member (fixed) or several (turns)")
    found = set(session.scalars(select(Staff.id).where(Staff.id.in_(route.staff_ids))))
    if found != set(route.staff_ids):
        raise RoutingError(f"{where}.staff_ids", "unknown staff member")


def pick_assignee(session: Session, settings: InquirySettings, category: str | None) -> int | None:
    """The staff member a new inquiry in this category goes to (None: nobody in particular).
    Round robin continues after whoever got the category's latest routed inquiry; staff who
    were deactivated are skipped."""
    route = settings.routes.get(category or "") or settings.fallback
    if route.mode == ROUTE_NONE or not route.staff_ids:
        return None
    active = set(session.scalars(select(Staff.id).where(Staff.active.is_(True))))
    candidates = [staff_id for staff_id in route.staff_ids if staff_id in active]
    if not candidates:
        return None
    if route.mode == ROUTE_FIXED:
        return candidates[0]
    previous = session.scalar(
        select(Inquiry.assignee_id)
        .where(Inquiry.category.is_(None) if category is None else Inquiry.category == category)
        .where(Inquiry.assignee_id.in_(candidates))
        .order_by(Inquiry.id.desc())
        .limit(1)
    )
    if previous not in candidates:
        return candidates[0]
    return candidates[(candidates.index(previous) + 1) % len(candidates)]
