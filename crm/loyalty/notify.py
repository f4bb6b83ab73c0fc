"""What the customer hears about their stamps and coupons, queued as pushes through the outbox
(the staff inbox, the counter screen and the API call these; the bot replies with the same
messages inside a turn).

`base_url` is the app's public address (Settings.public_base_url) for QR images; None leaves
the images out and shows codes and numbers as text. `tz` is the shop's time zone for dates; when
it is not given, the one staff chose (or Asia/Tokyo).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from crm.bot_texts import DEFAULT_TEXTS
from crm.interactions import queue_outbound
from crm.line_limits import MAX_MESSAGES_PER_REQUEST
from crm.loyalty.cards import (
    DEFAULT_TIMEZONE,
    CardLook,
    card_look,
    coupon_message,
    say,
    stamp_card_message,
)
from crm.loyalty.models import CARD_COMPLETED, IssuedCoupon, StampCard
from crm.loyalty.stamps import CardView, GrantResult, card_view
from crm.models import BLOCKED, Customer


def grant_messages(
    session: Session,
    result: GrantResult,
    now: datetime,
    base_url: str | None,
    *,
    tz: ZoneInfo | None = None,
) -> list[dict[str, Any]]:
    """The card after a grant, then one message per reward coupon it earned. A grant that
    completes the card shows the full card first (and the next one when stamps carried over)."""
    look = card_look(session, base_url, tz)
    headline = say(look.texts["loyalty_stamps_added"], count=granted_count(result))
    card = result.card
    if result.completed:
        full = _full_view(session, result.completed[-1])
        done = f"{headline}\n{look.texts['loyalty_card_completed']}"
        cards = [stamp_card_message(full, look, done)]
        if card.stamps > 0:
            view = card_view(session, card.customer_id, card.program, now)
            cards.append(stamp_card_message(view, look))
    else:
        view = card_view(session, card.customer_id, card.program, now)
        cards = [stamp_card_message(view, look, headline)]
    issued = [reward.issued for reward in result.rewards if reward.issued is not None]
    return [*cards, *coupon_messages(issued, now, base_url, tz=look.tz)]


def granted_count(result: GrantResult) -> int:
    """How many stamps the grant added, over every card it filled."""
    if not result.completed:
        return result.entry.delta
    goal = result.card.program.stamps_needed
    carried = 0 if result.card in result.completed else result.card.stamps
    return result.entry.delta + goal * (len(result.completed) - 1) + carried


def _full_view(session: Session, card: StampCard) -> CardView:
    """A card just completed, as it looked at the moment it filled up."""
    completed = session.scalar(
        select(func.count()).where(
            StampCard.customer_id == card.customer_id,
            StampCard.program_id == card.program_id,
            StampCard.status == CARD_COMPLETED,
        )
    )
    program = card.program
    return CardView(
        program=program,
        card=card,
        stamps=program.stamps_needed,
        goal=program.stamps_needed,
        next_reward=None,
        expires_at=None,
        completed_cards=int(completed or 0),
    )


def card_messages(
    session: Session, card: StampCard, now: datetime, base_url: str | None, tz: ZoneInfo | None
) -> list[dict[str, Any]]:
    """A card as it stands now (a reminder shows it)."""
    view = card_view(session, card.customer_id, card.program, now)
    return [stamp_card_message(view, card_look(session, base_url, tz))]


def coupon_messages(
    issued: list[IssuedCoupon],
    now: datetime,
    base_url: str | None,
    *,
    tz: ZoneInfo | None = None,
) -> list[dict[str, Any]]:
    """One coupon card per coupon (title, discount, validity, code and QR)."""
    shown = [item for item in issued if item.code]
    if not shown:
        return []
    look = _look_of(shown[0], base_url, tz)
    return [coupon_message(item, now, look) for item in shown]


def _look_of(item: IssuedCoupon, base_url: str | None, tz: ZoneInfo | None) -> CardLook:
    session = object_session(item)
    if session is not None:
        return card_look(session, base_url, tz)
    shop_name = DEFAULT_TEXTS["shop_name"]
    texts = {key: say(value, shop_name=shop_name) for key, value in DEFAULT_TEXTS.items()}
    return CardLook(texts, tz or ZoneInfo(DEFAULT_TIMEZONE), base_url)


def push_grant(
    session: Session,
    customer: Customer,
    result: GrantResult,
    now: datetime,
    base_url: str | None,
    *,
    tz: ZoneInfo | None = None,
) -> None:
    """Tell the customer about a grant made outside the chat (counter screen, API)."""
    _push(session, customer, grant_messages(session, result, now, base_url, tz=tz), now)


def push_coupons(
    session: Session,
    customer: Customer,
    issued: list[IssuedCoupon],
    now: datetime,
    base_url: str | None,
    *,
    tz: ZoneInfo | None = None,
) -> None:
    """Send newly issued coupons to the customer."""
    _push(session, customer, coupon_messages(issued, now, base_url, tz=tz), now)


def _push(session: Session, customer: Customer, messages: list[dict[str, Any]], now: datetime):
    if customer.follow_status == BLOCKED or not messages:
        return
    for start in range(0, len(messages), MAX_MESSAGES_PER_REQUEST):
        chunk = messages[start : start + MAX_MESSAGES_PER_REQUEST]
        queue_outbound(session, customer, messages=chunk, sender="bot", now=now)
