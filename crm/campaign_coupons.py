"""A campaign's coupon message (`{"type": "coupon", "coupon_id": N}`): each recipient is issued
their own code at send time, when their batch is cut (in the transaction that commits the
batch's retry key, before LINE is called), and gets it in a push of their own, the coupon card
of `crm.loyalty.notify.coupon_messages` in the message's place. Codes are issued with
`source="campaign"` and the campaign's id; the ledger and the timeline record each one.

A recipient whose issue is refused never gets a coupon message without a code:
- lottery lost: the other messages go with a short text in the coupon's place (bot text
  `loyalty_coupon_lottery_lost`): they took part in the draw, and the ledger has the lost draw;
- limit reached (they already hold as many as the coupon allows): held back, `coupon_limit`;
- sold out (the coupon's total limit is reached): held back, `sold_out`;
- the coupon was deactivated, ended or deleted after the campaign was saved: held back,
  `coupon_ended`;
- blocked in between: held back, `blocked`.
Held back means nothing is sent: the other messages would announce a coupon that is not there.

Never a second code for one recipient: a batch claimed again (its sender died, LINE asked for
a retry) finds its recipients' codes (or lost draws) issued by this campaign since the run's
scheduled time (runs of one campaign never overlap) and sends them again, with the same retry
key, so LINE answers 409 to what it already took. Issuing happens in the transaction that
hands the recipient to a batch, so a recipient is never in a batch without their draw recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.bot_texts import load_texts
from crm.campaign_messages import with_coupon
from crm.loyalty.coupons import (
    COUPON_ENDED,
    COUPON_INACTIVE,
    CUSTOMER_BLOCKED,
    LIMIT_REACHED,
    LOTTERY_LOST,
    SOLD_OUT,
    issue_coupon,
)
from crm.loyalty.models import COUPON_LOST, Coupon, IssuedCoupon
from crm.loyalty.notify import coupon_messages
from crm.models import CampaignRun, Customer

SOURCE = "campaign"
# A refused issue → the reason the recipient is held back with.
HELD_BACK = {
    LIMIT_REACHED: "coupon_limit",
    SOLD_OUT: "sold_out",
    COUPON_INACTIVE: "coupon_ended",
    COUPON_ENDED: "coupon_ended",
    CUSTOMER_BLOCKED: "blocked",
}
HELD_BACK_REASONS = ("coupon_limit", "sold_out", "coupon_ended")


@dataclass(frozen=True)
class CouponOutcome:
    """What one recipient gets: their messages, or the reason they are held back."""

    messages: list[dict[str, Any]] | None = None
    held_back: str | None = None


def coupon_outcomes(
    session: Session,
    run: CampaignRun,
    coupon_id: int,
    customer_ids: list[int],
    now: datetime,
    base_url: str | None,
) -> dict[int, CouponOutcome]:
    """Per customer: the run's messages with their own coupon (issued now, or found when it was
    issued by an earlier attempt), or why they are held back."""
    coupon = session.get(Coupon, coupon_id)
    if coupon is None:
        return dict.fromkeys(customer_ids, CouponOutcome(held_back="coupon_ended"))
    drawn = _drawn_in_run(session, run, coupon_id, customer_ids)
    customers = session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
    zone = ZoneInfo(run.campaign.timezone)
    lost_text = [{"type": "text", "text": load_texts(session)["loyalty_coupon_lottery_lost"]}]
    outcomes = {}
    for customer in customers:
        issued = drawn.get(customer.id)
        if issued is None:
            result = issue_coupon(
                session, coupon, customer, now, source=SOURCE, source_id=run.campaign_id
            )
            if result.refused not in (None, LOTTERY_LOST):
                reason = HELD_BACK.get(result.refused, "coupon_ended")
                outcomes[customer.id] = CouponOutcome(held_back=reason)
                continue
            issued = result.issued
        if issued is None or issued.status == COUPON_LOST:  # the draw did not win
            outcomes[customer.id] = CouponOutcome(with_coupon(run.messages, lost_text))
            continue
        card = coupon_messages([issued], now, base_url, tz=zone)
        outcomes[customer.id] = CouponOutcome(with_coupon(run.messages, card))
    return outcomes


def _drawn_in_run(
    session: Session, run: CampaignRun, coupon_id: int, customer_ids: list[int]
) -> dict[int, IssuedCoupon]:
    """Codes and lost draws this run already gave these customers (by an earlier attempt)."""
    rows = session.scalars(
        select(IssuedCoupon)
        .where(
            IssuedCoupon.coupon_id == coupon_id,
            IssuedCoupon.customer_id.in_(customer_ids),
            IssuedCoupon.source == SOURCE,
            IssuedCoupon.source_id == run.campaign_id,
            IssuedCoupon.issued_at >= run.scheduled_for,
        )
        .order_by(IssuedCoupon.slot)
    )
    return {row.customer_id: row for row in rows}
