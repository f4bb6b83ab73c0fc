"""/api/v1/campaigns: create (scheduled at once: the token approves it), read with counts,
preview, pause, resume and cancel. /api/v1/topics: the shop's topics."""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify

from api.campaign_schemas import (
    Campaign,
    CampaignCounts,
    CampaignIn,
    CampaignList,
    Preview,
    Topic,
    TopicList,
)
from api.errors import InvalidParameter
from api.schemas import Error
from api.spec import operation
from crm.audit import record_audit
from crm.campaign_messages import is_personalised
from crm.campaigns import (
    HELD_BACK_REASONS,
    CampaignError,
    CampaignInput,
    campaign_counts,
    cancel_campaign,
    create_campaign,
    list_campaigns,
    pause_campaign,
    resume_campaign,
)
from crm.clock import utcnow
from crm.delivery import preview_counts
from crm.models import Campaign as CampaignRow
from crm.politeness import load_politeness
from crm.segments import SegmentError
from crm.shop import shop_timezone_name
from crm.topics import all_topics
from request_scope import request_session, services

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
topics_bp = Blueprint("topics", __name__, url_prefix="/topics")


def campaign_body(session, row: CampaignRow) -> dict:
    counts = CampaignCounts.model_validate(campaign_counts(session, row.id, utcnow()))
    return Campaign(
        id=row.id,
        name=row.name,
        status=row.status,
        segment_id=row.segment_id,
        conditions=row.conditions,
        messages=row.messages,
        topic=row.topic.name if row.topic else None,
        send_at=row.send_at,
        recurrence=row.recurrence,
        timezone=row.timezone,
        holdout_percent=row.holdout_percent,
        next_run_at=row.next_run_at,
        personalised=is_personalised(row.messages),
        created_via=row.created_via,
        created_at=row.created_at,
        approved_at=row.approved_at,
        counts=counts,
    ).model_dump(mode="json")


@operation(
    bp,
    "",
    "Create a campaign; it is scheduled at once (send_at, or now) under the politeness rules",
    {201: (Campaign, "the campaign, with its id")},
    method="POST",
    body=CampaignIn,
)
def create(body: CampaignIn):
    db = services().db
    with db.transaction() as session:
        timezone = shop_timezone_name(session, services().settings.shop_timezone)
        data = CampaignInput(
            name=body.name,
            messages=body.messages,
            segment_id=body.segment_id,
            conditions=body.conditions,
            send_at=body.send_at,
            recurrence=body.recurrence,
            topic=body.topic,
            holdout_percent=body.holdout_percent,
        )
        try:
            row = create_campaign(session, data, utcnow(), timezone, via="api", schedule=True)
        except CampaignError as exc:
            raise InvalidParameter(exc.where, exc.message) from None
        _audit(session, "api.campaign_created", row.id)
        answer = campaign_body(session, row)
    return jsonify(answer), 201


@operation(bp, "", "The newest campaigns", {200: (CampaignList, "campaigns, newest first")})
def index():
    session = request_session()
    return jsonify({"data": [campaign_body(session, row) for row in list_campaigns(session)]})


@operation(
    bp,
    "/<id:campaign_id>",
    "One campaign with its status and counts",
    {200: (Campaign, "the campaign"), 404: (Error, "no such campaign")},
)
def show(campaign_id: int):
    session = request_session()
    row = session.get(CampaignRow, campaign_id) or abort(404)
    return jsonify(campaign_body(session, row))


@operation(
    bp,
    "/<id:campaign_id>/preview",
    "Who a run starting now would reach, and who would be held back and why",
    {200: (Preview, "counts by outcome"), 404: (Error, "no such campaign")},
)
def preview(campaign_id: int):
    session = request_session()
    row = session.get(CampaignRow, campaign_id) or abort(404)
    try:
        found = preview_counts(session, row, load_politeness(session), utcnow())
    except SegmentError as exc:
        raise InvalidParameter(exc.where, exc.message) from None
    answer = Preview(
        would_send=found.get("send", 0),
        deferred=found.get("deferred", 0),
        held_back={reason: found.get(reason, 0) for reason in HELD_BACK_REASONS},
        method="push" if is_personalised(row.messages) else "multicast",
    )
    return jsonify(answer.model_dump(mode="json"))


def _change(campaign_id: int, change, action: str):
    with services().db.transaction() as session:
        row = session.get(CampaignRow, campaign_id) or abort(404)
        try:
            change(session, row)
        except CampaignError as exc:
            abort(409, exc.message)
        _audit(session, action, row.id)
        answer = campaign_body(session, row)
    return jsonify(answer)


STATE_RESPONSES = {
    200: (Campaign, "the campaign"),
    404: (Error, "no such campaign"),
    409: (Error, "not possible in the campaign's status"),
}


@operation(bp, "/<id:campaign_id>/cancel", "Cancel, mid-send too", STATE_RESPONSES, method="POST")
def cancel(campaign_id: int):
    return _change(
        campaign_id, lambda s, row: cancel_campaign(s, row, utcnow()), "api.campaign_cancelled"
    )


@operation(bp, "/<id:campaign_id>/pause", "Pause sending", STATE_RESPONSES, method="POST")
def pause(campaign_id: int):
    return _change(campaign_id, pause_campaign, "api.campaign_paused")


@operation(bp, "/<id:campaign_id>/resume", "Resume sending", STATE_RESPONSES, method="POST")
def resume(campaign_id: int):
    return _change(
        campaign_id, lambda s, row: resume_campaign(s, row, utcnow()), "api.campaign_resumed"
    )


@operation(topics_bp, "", "The shop's topics", {200: (TopicList, "topics in their order")})
def topics():
    rows = all_topics(request_session())
    return jsonify({"data": [Topic.model_validate(row).model_dump() for row in rows]})


def _audit(session, action: str, campaign_id: int) -> None:
    detail = {"api_token": g.get("api_token_name")}
    record_audit(session, None, action, utcnow(), target=("campaign", campaign_id), detail=detail)
