"""Campaigns: messages for an audience, at a time, under the politeness rules.

A campaign is written (draft), scheduled (now, once at a shop-time date-time, or recurring on a
cron rule in the shop's time zone), sent in runs (crm/delivery.py), and can be paused, resumed
or cancelled at any point, mid-send included. Status moves:

    draft ──schedule──▶ scheduled ──tick──▶ sending ──last batch──▶ sent
                           ▲                   │  (recurring: back to scheduled)
                           └──────resume── paused ◀──pause──┘
    any but sent ──cancel──▶ cancelled
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from crm.campaign_messages import MessageError, checked_messages
from crm.field_errors import FieldError
from crm.models import (
    CAMPAIGN_CANCELLED,
    CAMPAIGN_DRAFT,
    CAMPAIGN_PAUSED,
    CAMPAIGN_SCHEDULED,
    CAMPAIGN_SENDING,
    CAMPAIGN_SENT,
    RECIPIENT_CANCELLED,
    RECIPIENT_PENDING,
    Campaign,
    CampaignRecipient,
    CampaignRun,
    Segment,
)
from crm.segments import Context, SegmentError, compile_conditions
from crm.topics import find_topic

PAST_GRACE = timedelta(seconds=60)  # a send_at this close behind now still means "now"
HELD_BACK_REASONS = ("blocked", "no_consent", "topic", "frequency_cap", "holdout")


class CampaignError(FieldError):
    """A campaign that cannot be saved or a change it cannot take; `where` names the field."""


@dataclass(frozen=True)
class CampaignInput:
    """What staff or the API give; checked by `check_input`."""

    name: str
    messages: Any
    segment_id: int | None = None
    conditions: Any = None
    send_at: datetime | None = None
    recurrence: str | None = None
    topic: str | int | None = None
    holdout_percent: int = 0


def create_campaign(
    session: Session,
    data: CampaignInput,
    now: datetime,
    timezone: str,
    staff_id: int | None = None,
    via: str = "inbox",
    schedule: bool = False,
) -> Campaign:
    """A new campaign, as a draft or (schedule=True: the creator approves it) scheduled."""
    campaign = Campaign(status=CAMPAIGN_DRAFT, created_by_id=staff_id, created_via=via)
    _apply(session, campaign, data, now, timezone)
    session.add(campaign)
    session.flush()
    if schedule:
        schedule_campaign(session, campaign, now, staff_id)
    return campaign


def change_campaign(
    session: Session, campaign: Campaign, data: CampaignInput, now: datetime, timezone: str
) -> None:
    """Edit a draft or a scheduled campaign (which goes back to draft for approval)."""
    if campaign.status not in (CAMPAIGN_DRAFT, CAMPAIGN_SCHEDULED):
        raise CampaignError("status", f"a {campaign.status} campaign cannot be edited")
    _apply(session, campaign, data, now, timezone)
    campaign.status = CAMPAIGN_DRAFT
    campaign.next_run_at = None
    campaign.approved_by_id = campaign.approved_at = None


def _apply(session: Session, campaign: Campaign, data: CampaignInput, now, timezone) -> None:
    name = (data.name or "").strip()
    if not 1 <= len(name) <= 100 or "\x00" in name:
        raise CampaignError("name", "1 to 100 characters")
    try:
        messages = checked_messages(session, data.messages)
    except MessageError as exc:
        raise CampaignError(exc.where, exc.message) from None
    campaign.name = name
    campaign.messages = messages
    campaign.segment_id, campaign.conditions = _audience(session, data, now)
    campaign.topic_id = _topic_id(session, data.topic)
    campaign.recurrence = _recurrence(data.recurrence, timezone)
    campaign.send_at = _send_at(data.send_at, now)
    campaign.timezone = timezone
    if isinstance(data.holdout_percent, bool) or not 0 <= (data.holdout_percent or 0) <= 50:
        raise CampaignError("holdout_percent", "a whole percent from 0 to 50")
    campaign.holdout_percent = data.holdout_percent or 0


def _audience(session: Session, data: CampaignInput, now: datetime):
    if data.segment_id is not None and data.conditions is not None:
        raise CampaignError("segment_id", "give segment_id or conditions, not both")
    if data.segment_id is not None:
        if session.get(Segment, data.segment_id) is None:
            raise CampaignError("segment_id", f"no segment {data.segment_id}")
        return data.segment_id, None
    if data.conditions is not None:
        try:
            compile_conditions(Context(session, now), data.conditions)
        except SegmentError as exc:
            raise CampaignError(exc.where, exc.message) from None
        return None, data.conditions
    return None, None  # every friend


def _topic_id(session: Session, topic: str | int | None) -> int | None:
    if topic in (None, ""):
        return None
    found = find_topic(session, topic)
    if found is None or not found.active:
        raise CampaignError("topic", f"unknown topic {topic!r}")
    return found.id


def _recurrence(rule: str | None, timezone: str) -> str | None:
    if rule in (None, ""):
        return None
    try:
        CronTrigger.from_crontab(rule, timezone=ZoneInfo(timezone))
    except (ValueError, TypeError) as exc:
        raise CampaignError("recurrence", f"a cron rule like '30 10 * * fri': {exc}") from None
    return rule.strip()


def _send_at(send_at: datetime | None, now: datetime) -> datetime | None:
    if send_at is None:
        return None
    if send_at.tzinfo is None:
        raise CampaignError("send_at", "a date-time with its offset (ISO 8601)")
    if send_at < now - PAST_GRACE:
        raise CampaignError("send_at", "is in the past")
    return send_at


def next_run_time(campaign: Campaign, after: datetime) -> datetime | None:
    """The campaign's next scheduled time at or after `after` (UTC), or None when done."""
    start = max(after, campaign.send_at) if campaign.send_at else after
    if not campaign.recurrence:
        return start
    trigger = CronTrigger.from_crontab(campaign.recurrence, timezone=ZoneInfo(campaign.timezone))
    fire = trigger.get_next_fire_time(None, start.astimezone(ZoneInfo(campaign.timezone)))
    return fire.astimezone(after.tzinfo) if fire else None


# Status changes --------------------------------------------------------------------------


def schedule_campaign(
    session: Session, campaign: Campaign, now: datetime, staff_id: int | None
) -> None:
    """Approve a draft: it goes out at its time (now when it has none)."""
    if campaign.status != CAMPAIGN_DRAFT:
        raise CampaignError("status", f"a {campaign.status} campaign cannot be scheduled")
    if campaign.send_at and campaign.send_at < now - PAST_GRACE and not campaign.recurrence:
        raise CampaignError("send_at", "is in the past")
    campaign.status = CAMPAIGN_SCHEDULED
    campaign.approved_by_id = staff_id
    campaign.approved_at = now
    campaign.next_run_at = next_run_time(campaign, now)


def pause_campaign(session: Session, campaign: Campaign) -> None:
    """Stop sending (mid-run too) until resumed; batches already with LINE finish."""
    if campaign.status not in (CAMPAIGN_SCHEDULED, CAMPAIGN_SENDING):
        raise CampaignError("status", f"a {campaign.status} campaign cannot be paused")
    campaign.status = CAMPAIGN_PAUSED


def resume_campaign(session: Session, campaign: Campaign, now: datetime) -> None:
    """Carry on: the open run goes on where it stopped; otherwise wait for the next time."""
    if campaign.status != CAMPAIGN_PAUSED:
        raise CampaignError("status", f"a {campaign.status} campaign is not paused")
    open_run = session.scalar(
        select(CampaignRun.id).where(
            CampaignRun.campaign_id == campaign.id, CampaignRun.status == CAMPAIGN_SENDING
        )
    )
    if open_run is not None:
        campaign.status = CAMPAIGN_SENDING
        return
    campaign.status = CAMPAIGN_SCHEDULED
    if campaign.next_run_at is None or campaign.next_run_at < now - PAST_GRACE:
        campaign.next_run_at = next_run_time(campaign, now) if campaign.recurrence else now


def cancel_campaign(session: Session, campaign: Campaign, now: datetime) -> int:
    """Stop for good: recipients not yet handed to LINE are never sent. Returns how many."""
    if campaign.status in (CAMPAIGN_SENT, CAMPAIGN_CANCELLED):
        raise CampaignError("status", f"a {campaign.status} campaign cannot be cancelled")
    campaign.status = CAMPAIGN_CANCELLED
    campaign.next_run_at = None
    runs = select(CampaignRun.id).where(
        CampaignRun.campaign_id == campaign.id, CampaignRun.status == CAMPAIGN_SENDING
    )
    unclaimed = (
        select(CampaignRun.claimed_up_to)
        .where(CampaignRun.id == CampaignRecipient.run_id)
        .scalar_subquery()
    )
    dropped = session.execute(
        update(CampaignRecipient)
        .where(
            CampaignRecipient.run_id.in_(runs),
            CampaignRecipient.status == RECIPIENT_PENDING,
            CampaignRecipient.id > unclaimed,  # not yet handed to a batch
        )
        .values(status=RECIPIENT_CANCELLED)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.execute(
        update(CampaignRun)
        .where(CampaignRun.id.in_(runs.scalar_subquery()))
        .values(status=CAMPAIGN_CANCELLED, finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return dropped


def delete_draft(session: Session, campaign: Campaign) -> None:
    if campaign.status != CAMPAIGN_DRAFT:
        raise CampaignError("status", "only a draft can be deleted; cancel it instead")
    session.delete(campaign)


# Reading ---------------------------------------------------------------------------------


def campaign_counts(session: Session, campaign_id: int, now: datetime) -> dict[str, Any]:
    """Recipients by outcome over all the campaign's runs, as the API reports them; pending
    recipients of a run waiting for quiet hours to end are `deferred`."""
    waiting = and_(CampaignRun.not_before.is_not(None), CampaignRun.not_before > now)
    rows = session.execute(
        select(
            CampaignRecipient.status,
            CampaignRecipient.reason,
            waiting.label("waiting"),
            func.count(),
        )
        .join(CampaignRun, CampaignRun.id == CampaignRecipient.run_id)
        .where(CampaignRecipient.campaign_id == campaign_id)
        .group_by(CampaignRecipient.status, CampaignRecipient.reason, "waiting")
    ).all()
    counts: dict[str, Any] = {
        "recipients": 0,
        "sent": 0,
        "failed": 0,
        "pending": 0,
        "held_back": dict.fromkeys(HELD_BACK_REASONS, 0),
        "deferred": 0,
        "cancelled": 0,
    }
    for status, reason, is_waiting, number in rows:
        counts["recipients"] += number
        if status == RECIPIENT_PENDING and is_waiting:
            status = "deferred"
        COUNTERS.get(status, _ignore)(counts, reason, number)
    return counts


def _add(key: str):
    def count(counts: dict, reason: str | None, number: int) -> None:
        counts[key] += number

    return count


def _held_back(counts: dict, reason: str | None, number: int) -> None:
    counts["held_back"][reason] = counts["held_back"].get(reason, 0) + number


def _ignore(counts: dict, reason: str | None, number: int) -> None:
    return None


COUNTERS = {
    "sent": _add("sent"),
    "failed": _add("failed"),
    "pending": _add("pending"),
    "deferred": _add("deferred"),
    "cancelled": _add("cancelled"),
    "held_back": _held_back,
}


def list_campaigns(session: Session, limit: int = 100) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit)))


def audience_tree(session: Session, campaign: Campaign) -> Any:
    """The condition tree the campaign's audience is evaluated with; None: every friend."""
    if campaign.segment_id is not None:
        return session.get(Segment, campaign.segment_id).conditions
    return campaign.conditions
