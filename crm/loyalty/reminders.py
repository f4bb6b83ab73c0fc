"""Reminders before stamps and coupons expire (the scheduler's `loyalty_upkeep` job, which also
runs `stamps.expire_cards` and `coupons.expire_coupons`, the ledger's record of expiry).

A stamp card whose `expires_at` falls within its program's `remind_days_before`, and a code
whose `valid_until` falls within its coupon's `remind_days_before`, get one message each:
- once: `reminded_at` is set by a conditional UPDATE (`reminded_at IS NULL`) in the transaction
  that queues the message, so a rerun or a second scheduler finds nothing left; a new stamp
  clears it, since the card's new expiry earns a new reminder;
- not to a customer who blocked the account or has no marketing consent (they are left
  unreminded, and hear about it if that changes before the expiry);
- not during the shop's quiet hours: nothing is queued then, so what waited goes out with the
  first run after they end.
Candidates are read per program and per coupon through the partial `*_expiring` indexes, only
over the window of `remind_days_before` days ahead, a batch at a time. The messages go through
the outbox (sender "bot"), which the worker sends.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import literal_column, select, update
from sqlalchemy.orm import Session

from crm.bot_texts import load_texts
from crm.interactions import queue_outbound
from crm.loyalty.models import (
    CARD_ACTIVE,
    COUPON_VALID,
    Coupon,
    IssuedCoupon,
    StampCard,
    StampProgram,
)
from crm.loyalty.notify import card_messages, coupon_messages
from crm.models import BLOCKED, Customer
from crm.politeness import load_politeness, quiet_until
from crm.shop import shop_timezone_name

BATCH = 200


def remind_stamp_cards(
    session: Session,
    now: datetime,
    default_timezone: str,
    base_url: str | None,
    limit: int = BATCH,
) -> int:
    """Queue one batch of stamp-expiry reminders; returns how many cards were due (a full
    batch means there may be more). `default_timezone` is SHOP_TIMEZONE."""
    zone = _quiet_or_zone(session, now, default_timezone)
    if zone is None:
        return 0
    due: list[int] = []
    programs = session.scalars(
        select(StampProgram).where(StampProgram.active, StampProgram.remind_days_before > 0)
    )
    for program in programs:
        window = _card_window(program, now)
        due += session.scalars(
            select(StampCard.id)
            .join(Customer, Customer.id == StampCard.customer_id)
            .where(*window, StampCard.stamps > 0, _reachable())
            .order_by(StampCard.expires_at)
            .limit(limit - len(due))
        ).all()
        if len(due) >= limit:
            break
    claimed = _claim(session, StampCard, due, now)
    texts = load_texts(session)
    for card in session.scalars(select(StampCard).where(StampCard.id.in_(claimed))):
        text = _filled(
            texts["loyalty_stamps_expiring"],
            program=card.program.name,
            stamps=str(card.stamps),
            date=shown_deadline(card.expires_at, zone),
        )
        shown = card_messages(session, card, now, base_url, zone)
        _queue(session, card.customer_id, [{"type": "text", "text": text}, *shown], now)
    return len(due)


def _card_window(program: StampProgram, now: datetime) -> list[Any]:
    """Active, unreminded cards of the program expiring within its reminder days."""
    return [
        StampCard.status == literal_column(f"'{CARD_ACTIVE}'"),  # the partial index's condition
        StampCard.expires_at > now,
        StampCard.expires_at <= now + timedelta(days=program.remind_days_before),
        StampCard.program_id == program.id,
        StampCard.reminded_at.is_(None),
    ]


def remind_coupons(
    session: Session,
    now: datetime,
    default_timezone: str,
    base_url: str | None,
    limit: int = BATCH,
) -> int:
    """Queue one batch of coupon-expiry reminders (the text, then the coupon itself); returns
    how many codes were due."""
    zone = _quiet_or_zone(session, now, default_timezone)
    if zone is None:
        return 0
    due: list[int] = []
    for coupon in session.scalars(select(Coupon).where(Coupon.remind_days_before > 0)):
        due += session.scalars(
            select(IssuedCoupon.id)
            .join(Customer, Customer.id == IssuedCoupon.customer_id)
            .where(*_code_window(coupon, now), _reachable())
            .order_by(IssuedCoupon.valid_until)
            .limit(limit - len(due))
        ).all()
        if len(due) >= limit:
            break
    claimed = _claim(session, IssuedCoupon, due, now)
    texts = load_texts(session)
    for issued in session.scalars(select(IssuedCoupon).where(IssuedCoupon.id.in_(claimed))):
        text = _filled(
            texts["loyalty_coupon_expiring"],
            title=issued.coupon.title,
            date=shown_deadline(issued.valid_until, zone),
        )
        coupon = coupon_messages([issued], now, base_url, tz=zone)
        _queue(session, issued.customer_id, [{"type": "text", "text": text}, *coupon], now)
    return len(due)


def _code_window(coupon: Coupon, now: datetime) -> list[Any]:
    """Valid, unreminded codes of the coupon ending within its reminder days."""
    return [
        IssuedCoupon.status == literal_column(f"'{COUPON_VALID}'"),
        IssuedCoupon.valid_until > now,
        IssuedCoupon.valid_until <= now + timedelta(days=coupon.remind_days_before),
        # `+ 0` keeps SQLite off the (coupon, customer, slot) index, which would read every
        # code of the coupon ever issued rather than the few ending soon.
        IssuedCoupon.coupon_id + 0 == coupon.id,
        IssuedCoupon.reminded_at.is_(None),
    ]


def _quiet_or_zone(session: Session, now: datetime, default_timezone: str) -> ZoneInfo | None:
    """The shop's time zone, or None while its quiet hours are on (reminders wait)."""
    timezone = shop_timezone_name(session, default_timezone)
    if quiet_until(load_politeness(session), now, timezone) is not None:
        return None
    return ZoneInfo(timezone)


def _reachable():
    """Customers a reminder may go to: not blocked, marketing consent given."""
    return (Customer.follow_status != BLOCKED) & Customer.marketing_consent.is_(True)


def _claim(session: Session, model, ids: list[int], now: datetime) -> list[int]:
    """Mark the rows reminded, unless someone else did in between; the ones this call got."""
    if not ids:
        return []
    return list(
        session.scalars(
            update(model)
            .where(model.id.in_(ids), model.reminded_at.is_(None))
            .values(reminded_at=now)
            .returning(model.id)
            .execution_options(synchronize_session=False)
        )
    )


def _queue(session: Session, customer_id: int, messages: list[dict[str, Any]], now: datetime):
    customer = session.get(Customer, customer_id)
    queue_outbound(session, customer, messages=messages, sender="bot", now=now)


def _filled(text: str, **values: str) -> str:
    """A bot text with its placeholders filled (braces staff typed elsewhere stay as they are)."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def shown_deadline(moment: datetime, zone: ZoneInfo) -> str:
    """The last minute something is valid, in the shop's time zone: 2026年4月30日 23:59."""
    local = (moment - timedelta(seconds=1)).astimezone(zone)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
