"""Admin settings: staff, tags, custom fields, canned responses, business hours, the bot's
greeting, the shop's time zone, and the audit log."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from crm.attributes import (
    AttributeValueError,
    define_attribute,
    delete_definition,
    list_definitions,
)
from crm.audit import recent_audit
from crm.bot_texts import DEFAULT_TEXTS, load_raw_texts, set_text
from crm.business_hours import (
    WEEKDAYS,
    BusinessHours,
    BusinessHoursError,
    format_day,
    load_business_hours,
    parse_day,
    parse_holidays,
    save_business_hours,
)
from crm.canned_responses import (
    CannedResponseError,
    list_canned_responses,
    save_canned_response,
)
from crm.clock import utcnow
from crm.csat import CsatError, CsatSettings, load_csat_settings, save_csat_settings
from crm.models import ROLES, AttributeDefinition, CannedResponse, Staff, Tag
from crm.politeness import Politeness, PolitenessError, load_politeness, save_politeness
from crm.shop import ShopSettingError, set_shop_timezone, shop_timezone_name
from crm.staff import StaffError, create_staff, list_staff, set_password, update_staff
from crm.staff_sessions import revoke_all_sessions
from crm.tags import TagError, create_tag, delete_tag, list_tags, tag_usage
from inbox.errors import error_text
from inbox.security import admin_required
from inbox.staff_actions import row_or_404, staff_change
from request_scope import request_session, services

bp = Blueprint("inbox_settings", __name__, url_prefix="/inbox/settings")

EDITABLE_BOT_TEXTS = ("shop_name", "greeting_title", "greeting_body", "ack", "help")


def _done(endpoint: str, error: str | None = None):
    flash(error_text(error) if error else _("Saved."), "error" if error else "ok")
    return redirect(url_for(endpoint))


@bp.get("")
@admin_required
def index():
    """The settings overview."""
    return redirect(url_for("inbox_settings.staff"))


# Staff -------------------------------------------------------------------------------------


@bp.get("/staff")
@admin_required
def staff():
    return render_template(
        "inbox/settings/staff.html", staff_list=list_staff(request_session()), roles=ROLES
    )


@bp.post("/staff")
@admin_required
def add_staff():
    """Invite a colleague with an initial password they should change."""
    form = request.form
    try:
        with staff_change("staff.create", detail={"email": form.get("email", "")}) as (tx, _d):
            create_staff(
                tx,
                form.get("email", ""),
                form.get("password", ""),
                form.get("role", ""),
                form.get("display_name", ""),
            )
    except StaffError as exc:
        return _done("inbox_settings.staff", str(exc))
    return _done("inbox_settings.staff")


@bp.post("/staff/<id:staff_id>")
@admin_required
def edit_staff(staff_id: int):
    """Change a colleague's role or password, or deactivate them; deactivating or a new
    password signs them out everywhere."""
    role, active = request.form.get("role", ""), request.form.get("active") == "1"
    new_password = request.form.get("new_password", "")
    try:
        with staff_change(
            "staff.update", ("staff", staff_id), {"role": role, "active": active}
        ) as (tx, detail):
            member = row_or_404(tx, Staff, staff_id)
            update_staff(tx, member, role=role, active=active)
            if new_password:
                set_password(member, new_password)
                detail["password_changed"] = True
            if not active or new_password:
                revoke_all_sessions(tx, staff_id, utcnow())
    except StaffError as exc:
        return _done("inbox_settings.staff", str(exc))
    return _done("inbox_settings.staff")


# Tags --------------------------------------------------------------------------------------


@bp.get("/tags")
@admin_required
def tags():
    session = request_session()
    return render_template(
        "inbox/settings/tags.html", tags=list_tags(session), usage=tag_usage(session)
    )


@bp.post("/tags")
@admin_required
def add_tag():
    name, color = request.form.get("name", ""), request.form.get("color", "#6b7280")
    try:
        with staff_change("tag.create", detail={"name": name}) as (tx, _d):
            create_tag(tx, name, color)
    except TagError as exc:
        return _done("inbox_settings.tags", str(exc))
    return _done("inbox_settings.tags")


@bp.post("/tags/<id:tag_id>/delete")
@admin_required
def remove_tag(tag_id: int):
    with staff_change("tag.delete", ("tag", tag_id)) as (tx, detail):
        tag = row_or_404(tx, Tag, tag_id)
        detail["name"] = tag.name
        delete_tag(tx, tag)
    return _done("inbox_settings.tags")


# Custom fields -----------------------------------------------------------------------------


@bp.get("/attributes")
@admin_required
def attributes():
    return render_template(
        "inbox/settings/attributes.html", definitions=list_definitions(request_session())
    )


@bp.post("/attributes")
@admin_required
def add_attribute():
    form = request.form
    choices = form.get("choices", "").replace("、", ",").split(",")
    try:
        with staff_change("attribute.create", detail={"key": form.get("key", "")}) as (tx, _d):
            define_attribute(
                tx, form.get("key", ""), form.get("label", ""), form.get("kind", ""), choices
            )
    except AttributeValueError as exc:
        return _done("inbox_settings.attributes", str(exc))
    return _done("inbox_settings.attributes")


@bp.post("/attributes/<id:definition_id>/delete")
@admin_required
def remove_attribute(definition_id: int):
    with staff_change("attribute.delete", ("attribute", definition_id)) as (tx, _d):
        delete_definition(tx, row_or_404(tx, AttributeDefinition, definition_id))
    return _done("inbox_settings.attributes")


# Canned responses --------------------------------------------------------------------------


@bp.get("/canned")
@admin_required
def canned():
    return render_template(
        "inbox/settings/canned.html", canned=list_canned_responses(request_session())
    )


@bp.post("/canned")
@admin_required
def save_canned():
    form = request.form
    canned_id = form.get("id", type=int)
    try:
        with staff_change("canned.save", ("canned", canned_id)) as (tx, _d):
            existing = tx.get(CannedResponse, canned_id) if canned_id else None
            save_canned_response(
                tx, form.get("shortcut", ""), form.get("title", ""), form.get("body", ""), existing
            )
    except CannedResponseError as exc:
        return _done("inbox_settings.canned", str(exc))
    return _done("inbox_settings.canned")


@bp.post("/canned/<id:canned_id>/delete")
@admin_required
def remove_canned(canned_id: int):
    with staff_change("canned.delete", ("canned", canned_id)) as (tx, _d):
        tx.delete(row_or_404(tx, CannedResponse, canned_id))
    return _done("inbox_settings.canned")


# Business hours, greeting, time zone -------------------------------------------------------


@bp.get("/shop")
@admin_required
def shop():
    session = request_session()
    hours = load_business_hours(session)
    return render_template(
        "inbox/settings/shop.html",
        hours=hours,
        weekdays=WEEKDAYS,
        day_text={day: format_day(hours.weekly.get(day, ())) for day in WEEKDAYS},
        holidays_text="\n".join(sorted(d.isoformat() for d in hours.holidays)),
        texts=load_raw_texts(session),
        text_keys=EDITABLE_BOT_TEXTS,
        timezone=shop_timezone_name(session, services().settings.shop_timezone),
        csat=load_csat_settings(session),
        politeness=load_politeness(session),
    )


@bp.post("/campaigns")
@admin_required
def save_politeness_rules():
    """The frequency cap and quiet hours every campaign is sent under."""
    form = request.form
    rules = Politeness(
        cap_messages=form.get("cap_messages", -1, type=int),
        cap_days=form.get("cap_days", -1, type=int),
        quiet_enabled=form.get("quiet_enabled") == "1",
        quiet_start=form.get("quiet_start", "").strip(),
        quiet_end=form.get("quiet_end", "").strip(),
    )
    return _saved_shop_setting(
        "settings.campaigns", asdict(rules), lambda tx: save_politeness(tx, rules), PolitenessError
    )


@bp.post("/csat")
@admin_required
def save_csat():
    """Ask customers for a 1–5 score when a chat is resolved."""
    form = request.form
    days = form.get("quiet_days", type=int)
    settings = CsatSettings(
        enabled=form.get("enabled") == "1",
        quiet_days=-1 if days is None else days,  # refused below
        question=form.get("question", "").strip(),
    )
    return _saved_shop_setting(
        "settings.csat",
        {"enabled": settings.enabled},
        lambda tx: save_csat_settings(tx, settings),
        CsatError,
    )


@bp.post("/hours")
@admin_required
def save_hours():
    form = request.form
    try:
        hours = BusinessHours(
            enabled=form.get("enabled") == "1",
            weekly={day: parse_day(form.get(f"day_{day}", "")) for day in WEEKDAYS},
            holidays=parse_holidays(form.get("holidays", "")),
            away_message=form.get("away_message", ""),
        )
        with staff_change("settings.business_hours") as (tx, _d):
            save_business_hours(tx, hours)
    except BusinessHoursError as exc:
        return _done("inbox_settings.shop", str(exc))
    return _done("inbox_settings.shop")


@bp.post("/bot-texts")
@admin_required
def save_bot_texts():
    values = {key: request.form.get(key, "").strip() for key in EDITABLE_BOT_TEXTS}
    if any(not v or len(v) > 5000 for v in values.values()):
        return _done("inbox_settings.shop", "bot_text_invalid")
    with staff_change("settings.bot_texts", detail={"keys": list(values)}) as (tx, _d):
        for key, value in values.items():
            set_text(tx, key, None if value == DEFAULT_TEXTS[key] else value)
    return _done("inbox_settings.shop")


@bp.post("/timezone")
@admin_required
def save_timezone():
    name = request.form.get("timezone", "").strip()
    return _saved_shop_setting(
        "settings.timezone",
        {"timezone": name},
        lambda tx: set_shop_timezone(tx, name),
        ShopSettingError,
    )


def _saved_shop_setting(action: str, detail: dict, save, refused: type[Exception]):
    """Save one shop setting with its audit entry; a refusal goes back with its message key."""
    try:
        with staff_change(action, detail=detail) as (tx, _d):
            save(tx)
    except refused as exc:
        return _done("inbox_settings.shop", str(exc))
    return _done("inbox_settings.shop")


# Audit log ---------------------------------------------------------------------------------


@bp.get("/audit")
@admin_required
def audit():
    entries = recent_audit(request_session(), before_id=request.args.get("cursor", type=int))
    return render_template("inbox/settings/audit.html", entries=entries)
