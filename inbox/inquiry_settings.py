"""Inquiry routing (admins): the categories customers pick in the お問い合わせ menu, and who
gets each category's chats: nobody in particular, one staff member, or several in turn."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.inquiries.routing import (
    DEFAULT_CATEGORIES,
    ROUTE_FIXED,
    ROUTE_MODES,
    ROUTE_NONE,
    ROUTE_ROUND_ROBIN,
    InquirySettings,
    Route,
    RoutingError,
    load_inquiry_settings,
    save_inquiry_settings,
)
from crm.staff import active_staff
from inbox.security import admin_required
from inbox.staff_actions import staff_change
from request_scope import request_session

bp = Blueprint("inbox_inquiry_settings", __name__, url_prefix="/inbox/inquiries/routing")
FALLBACK = "fallback"


@bp.context_processor
def _mode_names() -> dict:
    return {
        "mode_names": {
            ROUTE_FIXED: _l("One staff member"),
            ROUTE_ROUND_ROBIN: _l("Several staff in turn"),
        },
        "none_names": {
            "category": _l("As everything else"),
            FALLBACK: _l("Nobody (unassigned chats)"),
        },
    }


def _ids(values: list[str]) -> tuple[int, ...]:
    return tuple(int(value) for value in values if value.isdigit())


def route_from_form(form, key: str) -> Route:
    """One route's fields: `mode-KEY`, `fixed-KEY` (one staff id), `turns-KEY` (several)."""
    mode = form.get(f"mode-{key}", ROUTE_NONE)
    if mode == ROUTE_FIXED:
        return Route(mode, _ids([form.get(f"fixed-{key}", "")]))
    if mode == ROUTE_ROUND_ROBIN:
        return Route(mode, _ids(form.getlist(f"turns-{key}")))
    return Route(mode)


def settings_from_form(form) -> InquirySettings:
    """The categories (one per line) and the routes of the categories the form showed, under
    `name-KEY`. A category left at "none" has no route of its own, so it follows the fallback
    (crm.inquiries.routing.pick_assignee); one added in the same save starts so too."""
    categories = tuple(line.strip() for line in form.get("categories", "").splitlines())
    categories = tuple(name for name in categories if name)
    routes = {}
    for key in form.getlist("route"):
        name = form.get(f"name-{key}", "")
        route = route_from_form(form, key)
        if name in categories and route.mode != ROUTE_NONE:
            routes[name] = route
    return InquirySettings(categories, routes, route_from_form(form, FALLBACK))


def _page(settings: InquirySettings, problem: RoutingError | None = None):
    return (
        render_template(
            "inbox/inquiry/routing.html",
            settings=settings,
            staff_members=active_staff(request_session()),
            modes=ROUTE_MODES,
            defaults=DEFAULT_CATEGORIES,
            fallback_key=FALLBACK,
            empty_route=Route(),
            problem=problem,
        ),
        422 if problem else 200,
    )


@bp.get("")
@admin_required
def index():
    return _page(load_inquiry_settings(request_session()))


@bp.post("")
@admin_required
def save():
    chosen = settings_from_form(request.form)
    try:
        with staff_change("inquiry.routing", detail={"categories": list(chosen.categories)}) as (
            tx,
            _d,
        ):
            save_inquiry_settings(tx, chosen)
    except RoutingError as exc:
        return _page(chosen, exc)
    flash(_("Saved. New inquiries are routed this way from now on."), "ok")
    return redirect(url_for("inbox_inquiry_settings.index"))
