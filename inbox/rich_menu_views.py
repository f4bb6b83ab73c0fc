"""Rich menus (admins): the list with each menu's state on LINE, the editor (size, layout, each
area's label, action, colour and icon, the chat bar text, the tag whose customers get it), the
server-drawn preview, and publishing to LINE with LINE's answer shown."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from bot.rich_menu import publish_menu
from crm.rich_menus.definitions import LAYOUTS, MenuError
from crm.rich_menus.image import JapaneseFontMissing, check_japanese_font, render_menu
from crm.rich_menus.menus import change_menu, create_menu, default_menu, list_menus
from crm.rich_menus.models import MENU_DRAFT, MENU_FAILED, MENU_PUBLISHED, SIZES, RichMenu
from crm.surveys import active_surveys
from crm.tags import list_tags
from inbox.loyalty_summary import refresh_reads
from inbox.rich_menu_forms import (
    ACTION_NAMES,
    FEATURE_NAMES,
    ICON_NAMES,
    MenuFields,
    menu_fields_from_form,
    menu_fields_of,
    menu_input,
    new_menu_fields,
)
from inbox.security import admin_required
from inbox.staff_actions import row_or_404, staff_change
from request_scope import request_session, services

bp = Blueprint("inbox_rich_menus", __name__, url_prefix="/inbox/rich-menus")

STATUS_NAMES = {
    MENU_DRAFT: _l("Not published (changed since)"),
    MENU_PUBLISHED: _l("On LINE"),
    MENU_FAILED: _l("LINE refused it"),
}
SIZE_NAMES = {"large": _l("Large (2500×1686)"), "compact": _l("Compact (2500×843)")}
FIELD_NAMES = {
    "name": _l("Name"),
    "size": _l("Size"),
    "layout": _l("Layout"),
    "chat_bar_text": _l("Chat bar text"),
    "areas": _l("Areas"),
    "tag_id": _l("Tag"),
    "priority": _l("Priority"),
    "theme": _l("Colours"),
    "active": _l("On"),
}


def _font_problem() -> str | None:
    try:
        check_japanese_font()
    except JapaneseFontMissing as exc:
        return str(exc)
    return None


@bp.context_processor
def _names() -> dict:
    return {
        "status_names": STATUS_NAMES,
        "size_names": SIZE_NAMES,
        "field_names": FIELD_NAMES,
        "font_problem": _font_problem(),
    }


def _ensure_default_menu() -> None:
    """The default menu exists out of the box: made in a write transaction the first time the
    list opens, so reads never create it."""
    if request_session().scalar(select(RichMenu.id).where(RichMenu.is_default)) is not None:
        return
    with services().db.transaction() as tx:
        default_menu(tx)
    refresh_reads()


@bp.get("")
@admin_required
def index():
    _ensure_default_menu()
    session = request_session()
    tags = {tag.id: tag for tag in list_tags(session)}
    return render_template("inbox/rich_menus.html", menus=list_menus(session), tags=tags)


def _editor(fields: MenuFields, menu: RichMenu | None = None, problem=None, status=200):
    session = request_session()
    features = dict(FEATURE_NAMES)
    features.update(
        {f"survey:{s.id}": _("Survey: %(name)s", name=s.name) for s in active_surveys(session)}
    )
    page = render_template(
        "inbox/rich_menu_form.html",
        menu=menu,
        fields=fields,
        problem=problem,
        bad=problem.where.split(".")[0].split("[")[0] if problem else "",
        sizes=SIZES,
        layouts=LAYOUTS,
        tags=list_tags(session),
        features=features,
        actions=ACTION_NAMES,
        icons=ICON_NAMES,
    )
    return page, status


@bp.get("/new")
@admin_required
def new():
    return _editor(new_menu_fields())


@bp.post("/new")
@admin_required
def create():
    fields = menu_fields_from_form(request.form)
    try:
        with staff_change("rich_menu.create", detail={"name": fields.name}) as (tx, detail):
            menu = create_menu(tx, menu_input(fields))
            detail["rich_menu"] = menu.id
    except MenuError as exc:
        return _editor(fields, problem=exc, status=422)
    flash(_("Menu saved. Publish it to show it in LINE."), "ok")
    return redirect(url_for("inbox_rich_menus.edit", menu_id=menu.id))


@bp.get("/<id:menu_id>")
@admin_required
def edit(menu_id: int):
    menu = request_session().get(RichMenu, menu_id) or abort(404)
    return _editor(menu_fields_of(menu), menu)


@bp.post("/<id:menu_id>")
@admin_required
def update(menu_id: int):
    fields = menu_fields_from_form(request.form)
    try:
        with staff_change("rich_menu.edit", ("rich_menu", menu_id)) as (tx, _d):
            change_menu(tx, row_or_404(tx, RichMenu, menu_id), menu_input(fields))
    except MenuError as exc:
        return _editor(fields, request_session().get(RichMenu, menu_id), exc, 422)
    flash(_("Menu saved. LINE shows the published version until you publish again."), "ok")
    return redirect(url_for("inbox_rich_menus.edit", menu_id=menu_id))


@bp.post("/<id:menu_id>/publish")
@admin_required
def publish(menu_id: int):
    """Create the menu on LINE with its picture; the default is shown to everyone, a tag menu
    is linked to the customers with the tag."""
    row_or_404(request_session(), RichMenu, menu_id)
    result = publish_menu(services().db, services().settings, menu_id)
    detail = {"line_rich_menu_id": result.line_rich_menu_id, "error": result.error}
    with staff_change("rich_menu.publish", ("rich_menu", menu_id), detail=detail):
        pass
    if result.error:
        flash(_("Not published: %(error)s", error=result.error), "error")
    else:
        flash(_("Published to LINE."), "ok")
    return redirect(url_for("inbox_rich_menus.edit", menu_id=menu_id))


@bp.get("/<id:menu_id>/preview.png")
@admin_required
def preview(menu_id: int):
    """The saved menu drawn as LINE will show it."""
    menu = request_session().get(RichMenu, menu_id) or abort(404)
    try:
        image = render_menu(menu)
    except JapaneseFontMissing:
        abort(404)
    response = Response(image.body, content_type=image.content_type)
    response.headers["Cache-Control"] = "no-store"
    return response
