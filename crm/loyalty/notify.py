"""What the customer hears about their stamps and coupons, queued as pushes through the outbox
(the staff inbox, the counter screen and the API call these; the bot replies with the same
messages inside a turn).

`base_url` is the app's public address (Settings.public_base_url) for QR images; None leaves
the images out and shows codes and numbers as text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from crm.interactions import queue_outbound
from crm.line_limits import MAX_MESSAGES_PER_REQUEST
from crm.loyalty.coupons import shown_code
from crm.loyalty.models import IssuedCoupon
from crm.loyalty.stamps import GrantResult
from crm.models import BLOCKED, Customer


def grant_messages(
    session: Session, result: GrantResult, now: datetime, base_url: str | None
) -> list[dict[str, Any]]:
    """The card after a grant, then one message per reward coupon it earned."""
    card = result.card
    text = f"スタンプ {card.stamps}/{card.program.stamps_needed}（{card.program.name}）"
    issued = [reward.issued for reward in result.rewards if reward.issued is not None]
    return [{"type": "text", "text": text}, *coupon_messages(issued, now, base_url)]


def coupon_messages(
    issued: list[IssuedCoupon], now: datetime, base_url: str | None
) -> list[dict[str, Any]]:
    """One message per coupon (title and code)."""
    return [
        {"type": "text", "text": f"クーポン: {item.coupon.title}\nコード: {shown_code(item.code)}"}
        for item in issued
    ]


def push_grant(
    session: Session, customer: Customer, result: GrantResult, now: datetime, base_url: str | None
) -> None:
    """Tell the customer about a grant made outside the chat (counter screen, API)."""
    _push(session, customer, grant_messages(session, result, now, base_url), now)


def push_coupons(
    session: Session,
    customer: Customer,
    issued: list[IssuedCoupon],
    now: datetime,
    base_url: str | None,
) -> None:
    """Send newly issued coupons to the customer."""
    _push(session, customer, coupon_messages(issued, now, base_url), now)


def _push(session: Session, customer: Customer, messages: list[dict[str, Any]], now: datetime):
    if customer.follow_status == BLOCKED or not messages:
        return
    for start in range(0, len(messages), MAX_MESSAGES_PER_REQUEST):
        chunk = messages[start : start + MAX_MESSAGES_PER_REQUEST]
        queue_outbound(session, customer, messages=chunk, sender="bot", now=now)
