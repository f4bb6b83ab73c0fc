"""Campaigns in the inbox (admins): the list, the editor, and one campaign's page with the
preview (who gets it, who is held back and why, this month's quota, the messages as LINE will
show them), a test send to staff who linked their LINE, approval, pause, resume, cancel, and
live progress while it goes out."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from bot.campaign_sending import send_test
from crm.campaign_messages import is_personalised, personalised
from crm.campaigns import (
    HELD_BACK_REASONS,
    CampaignError,
    campaign_counts,
    cancel_campaign,
    change_campaign,
    create_campaign,
    delete_draft,
    list_campaigns,
    pause_campaign,
    resume_campaign,
    schedule_campaign,
)
from crm.clock import utcnow
from crm.delivery import preview_counts
from crm.flex import walk
from crm.loyalty.models import Coupon
from crm.models import Campaign, CampaignRun, Segment, Staff
from crm.politeness import load_politeness
from crm.segments import SegmentError
from crm.shop import shop_timezone_name
from crm.staff_line import linked_staff
from crm.topics import active_topics
from inbox.campaign_form import (
    KINDS,
    WEEKDAYS,
    Block,
    CampaignFields,
    campaign_input,
    coupon_choices,
    fields_from_form,
    fields_of,
    flex_templates,
)
from inbox.errors import error_text
from inbox.security import admin_required
from inbox.staff_actions import row_or_404, staff_change
from request_scope import request_session, services

bp = Blueprint("inbox_campaigns", __name__, url_prefix="/inbox/campaigns")
EDITABLE = ("draft", "scheduled")
STATUS_NAMES = {
    "draft": _l("Draft"),
    "scheduled": _l("Scheduled"),
    "sending": _l("Sending"),
    "sent": _l("Sent"),
    "cancelled": _l("Cancelled"),
    "paused": _l("Paused"),
}
REASON_NAMES = {
    "blocked": _l("blocked the account"),
    "no_consent": _l("no marketing consent"),
    "topic": _l("opted out of the topic"),
    "frequency_cap": _l("frequency cap"),
    "holdout": _l("control group"),
    "coupon_limit": _l("already holds the coupon"),
    "sold_out": _l("coupon sold out"),
    "coupon_ended": _l("coupon no longer offered"),
}


@bp.context_processor
def _names() -> dict:
    return {"status_names": STATUS_NAMES, "reason_names": REASON_NAMES}


def _timezone(session) -> str:
    return shop_timezone_name(session, services().settings.shop_timezone)


@bp.get("")
@admin_required
def index():
    session = request_session()
    campaigns = list_campaigns(session)
    counts = {c.id: campaign_counts(session, c.id, utcnow()) for c in campaigns}
    return render_template("inbox/campaigns.html", campaigns=campaigns, counts=counts)


def _editor(fields: CampaignFields, campaign=None, problem=None, status=200):
    session = request_session()
    blocks = fields.blocks + [Block() for _ in range(5 - len(fields.blocks))]
    return (
        render_template(
            "inbox/campaign_form.html",
            campaign=campaign,
            fields=fields,
            blocks=blocks[:5],
            problem=problem,
            segments=session.scalars(select(Segment).order_by(Segment.name)).all(),
            topics=active_topics(session),
            templates=flex_templates(),
            coupons=coupon_choices(session),
            kinds=KINDS,
            weekdays=WEEKDAYS,
        ),
        status,
    )


@bp.get("/new")
@admin_required
def new():
    return _editor(CampaignFields(blocks=[Block()]))


@bp.post("/new")
@admin_required
def create():
    fields = fields_from_form(request.form)
    try:
        with staff_change("campaigns.create", detail={"name": fields.name}) as (tx, detail):
            data = campaign_input(fields, _timezone(tx))
            campaign = create_campaign(tx, data, utcnow(), _timezone(tx), staff_id=g.staff.id)
            detail["campaign"] = campaign_id = campaign.id
    except CampaignError as exc:
        return _editor(_kept(fields), problem=exc, status=422)
    flash(error_text("campaign_saved"), "ok")
    return redirect(url_for("inbox_campaigns.show", campaign_id=campaign_id))


def _kept(fields: CampaignFields) -> CampaignFields:
    fields.blocks = [block for block in fields.blocks if not block.blank] or [Block()]
    return fields


@bp.get("/<id:campaign_id>/edit")
@admin_required
def edit(campaign_id: int):
    session = request_session()
    campaign = session.get(Campaign, campaign_id) or abort(404)
    if campaign.status not in EDITABLE:
        abort(409)
    return _editor(fields_of(campaign, _timezone(session)), campaign)


@bp.post("/<id:campaign_id>/edit")
@admin_required
def update(campaign_id: int):
    fields = fields_from_form(request.form)
    try:
        with staff_change("campaigns.edit", ("campaign", campaign_id)) as (tx, _detail):
            campaign = row_or_404(tx, Campaign, campaign_id)
            timezone = _timezone(tx)
            change_campaign(tx, campaign, campaign_input(fields, timezone), utcnow(), timezone)
    except CampaignError as exc:
        campaign = request_session().get(Campaign, campaign_id)
        return _editor(_kept(fields), campaign, problem=exc, status=422)
    flash(error_text("campaign_saved"), "ok")
    return redirect(url_for("inbox_campaigns.show", campaign_id=campaign_id))


@bp.get("/<id:campaign_id>")
@admin_required
def show(campaign_id: int):
    session = request_session()
    campaign = session.get(Campaign, campaign_id) or abort(404)
    tz = ZoneInfo(_timezone(session))
    preview, preview_error = None, None
    if campaign.status in (*EDITABLE, "paused"):
        try:
            preview = _preview(session, campaign)
        except SegmentError as exc:
            preview_error = exc
    quota = services().line.get_quota() if preview else None
    runs = session.scalars(
        select(CampaignRun)
        .where(CampaignRun.campaign_id == campaign.id)
        .order_by(CampaignRun.id.desc())
        .limit(20)
    ).all()
    return render_template(
        "inbox/campaign.html",
        campaign=campaign,
        counts=campaign_counts(session, campaign.id, utcnow()),
        preview=preview,
        preview_error=preview_error,
        quota=quota,
        bubbles=[_bubble(m) for m in personalised(campaign.messages, g.staff.display_name)],
        personalised=is_personalised(campaign.messages),
        linked=linked_staff(session),
        runs=runs,
        tz=tz,
        reasons=HELD_BACK_REASONS,
    )


def _bubble(message: dict) -> dict:
    """A message as the preview draws it: its kind, its text, a Flex card's texts."""
    kind = message.get("type")
    if kind == "flex":
        texts = [node["text"] for node in walk(message.get("contents")) if node.get("text")]
        return {"kind": "flex", "alt": message.get("altText", ""), "texts": texts[:12]}
    if kind == "image":
        return {"kind": "image", "url": message.get("originalContentUrl", "")}
    if kind == "sticker":
        return {"kind": "sticker"}
    if kind == "coupon":
        coupon = request_session().get(Coupon, message.get("coupon_id"))
        title = coupon.title if coupon else f"#{message.get('coupon_id')}"
        return {"kind": "text", "text": f"{_('Coupon')}: {title} ({_('a code for each customer')})"}
    return {"kind": "text", "text": message.get("text", "")}


def _preview(session, campaign: Campaign) -> dict:
    found = preview_counts(session, campaign, load_politeness(session), utcnow())
    held = {reason: found.get(reason, 0) for reason in HELD_BACK_REASONS}
    return {
        "send": found.get("send", 0),
        "deferred": found.get("deferred", 0),
        "held": held,
        "total": sum(found.values()),
    }


@bp.get("/<id:campaign_id>/progress")
@admin_required
def progress(campaign_id: int):
    """The live counts (htmx polls this while the campaign is sending)."""
    session = request_session()
    campaign = session.get(Campaign, campaign_id) or abort(404)
    return render_template(
        "inbox/_campaign_progress.html",
        campaign=campaign,
        counts=campaign_counts(session, campaign.id, utcnow()),
        reasons=HELD_BACK_REASONS,
    )


def _change(campaign_id: int, action: str, change, message: str):
    try:
        with staff_change(f"campaigns.{action}", ("campaign", campaign_id)) as (tx, _detail):
            change(tx, row_or_404(tx, Campaign, campaign_id))
    except CampaignError as exc:
        flash(exc.message, "error")
    else:
        flash(error_text(message), "ok")
    return redirect(url_for("inbox_campaigns.show", campaign_id=campaign_id))


@bp.post("/<id:campaign_id>/schedule")
@admin_required
def approve(campaign_id: int):
    return _change(
        campaign_id,
        "schedule",
        lambda tx, c: schedule_campaign(tx, c, utcnow(), g.staff.id),
        "campaign_scheduled",
    )


@bp.post("/<id:campaign_id>/pause")
@admin_required
def pause(campaign_id: int):
    return _change(campaign_id, "pause", pause_campaign, "campaign_paused")


@bp.post("/<id:campaign_id>/resume")
@admin_required
def resume(campaign_id: int):
    return _change(
        campaign_id, "resume", lambda tx, c: resume_campaign(tx, c, utcnow()), "campaign_resumed"
    )


@bp.post("/<id:campaign_id>/cancel")
@admin_required
def cancel(campaign_id: int):
    return _change(
        campaign_id, "cancel", lambda tx, c: cancel_campaign(tx, c, utcnow()), "campaign_cancelled"
    )


@bp.post("/<id:campaign_id>/delete")
@admin_required
def delete(campaign_id: int):
    try:
        with staff_change("campaigns.delete", ("campaign", campaign_id)) as (tx, _detail):
            delete_draft(tx, row_or_404(tx, Campaign, campaign_id))
    except CampaignError as exc:
        flash(exc.message, "error")
        return redirect(url_for("inbox_campaigns.show", campaign_id=campaign_id))
    flash(error_text("campaign_deleted"), "ok")
    return redirect(url_for("inbox_campaigns.index"))


@bp.post("/<id:campaign_id>/test")
@admin_required
def test_send(campaign_id: int):
    """Push the messages to one staff member's own linked LINE (not counted as a campaign)."""
    session = request_session()
    campaign = session.get(Campaign, campaign_id) or abort(404)
    staff = session.get(Staff, request.form.get("staff_id", type=int) or 0)
    if staff is None or not staff.line_user_id:
        flash(error_text("test_send_unlinked"), "error")
        return redirect(url_for("inbox_campaigns.show", campaign_id=campaign_id))
    outcome = send_test(services().line, staff.line_user_id, campaign.messages, staff.display_name)
    with staff_change("campaigns.test_send", ("campaign", campaign_id), {"to": staff.id}):
        pass
    if outcome.result == "sent":
        flash(error_text("test_sent"), "ok")
    else:
        flash(f"{error_text('test_send_failed')} {outcome.message}", "error")
    return redirect(url_for("inbox_campaigns.show", campaign_id=campaign_id))
