"""Stamps: granting (with limits and idempotency keys), cards that fill and roll over, milestone
rewards, revocation with a reason, starter stamps and expiry. Every change is a ledger row
written in the same transaction as the card's count.

Grants for one customer take turns: the customer's row is locked first (PostgreSQL
`FOR UPDATE`; SQLite transactions already write one at a time), so the daily limit read and the
stamp written cannot interleave with a second tablet's grant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from crm.audit import record_audit
from crm.loyalty.coupons import IssueResult, issue_coupon
from crm.loyalty.models import (
    CARD_ACTIVE,
    CARD_COMPLETED,
    CARD_EXPIRED,
    EXPIRY_FIXED,
    EXPIRY_FROM_FIRST,
    EXPIRY_FROM_LAST,
    STAMP_CARRY,
    STAMP_EXPIRE,
    STAMP_GRANT,
    STAMP_REVOKE,
    STAMP_STARTER,
    StampCard,
    StampEntry,
    StampProgram,
    StampReward,
)
from crm.loyalty.programs import MAX_STAMPS
from crm.loyalty.timeline import record_loyalty_event
from crm.models import Customer

# Why a grant or a revocation was refused.
DAILY_LIMIT = "daily_limit"
TOO_SOON = "too_soon"
PROGRAM_INACTIVE = "program_inactive"
BAD_COUNT = "bad_count"
NOT_A_GRANT = "not_a_grant"
ALREADY_REVOKED = "already_revoked"
KEY_USED = "key_used"  # an idempotency key (or counter QR) already used for someone else
CARD_CLOSED = "card_closed"  # the stamps went onto a card that has since completed or expired
COUNTED_KINDS = (STAMP_GRANT, STAMP_CARRY)  # what the daily limit counts


class StampRefused(ValueError):
    """A grant or revocation that cannot happen; `reason` is one of the codes above."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass
class GrantResult:
    """What a grant did: the card the customer holds now, the cards it completed, the reward
    coupons it issued, and whether it was a replay of an earlier request with the same key."""

    card: StampCard
    entry: StampEntry
    completed: list[StampCard] = field(default_factory=list)
    rewards: list[IssueResult] = field(default_factory=list)
    replayed: bool = False


def grant_stamps(
    session: Session,
    customer: Customer,
    program: StampProgram,
    count: int,
    now: datetime,
    tz: ZoneInfo,
    *,
    via: str,
    staff_id: int | None = None,
    idempotency_key: str | None = None,
    reason: str | None = None,
) -> GrantResult:
    """Add stamps to the customer's card, or raise StampRefused (limits, inactive program)."""
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_STAMPS:
        raise StampRefused(BAD_COUNT, f"1 to {MAX_STAMPS}")
    if not program.active:
        raise StampRefused(PROGRAM_INACTIVE)
    lock_customer(session, customer.id)
    if idempotency_key:  # after the lock: a request with the same key has finished by now
        earlier = _replay(session, idempotency_key, customer.id)
        if earlier is not None:
            return earlier
    check_limits(session, customer.id, program, count, now, tz)
    card = current_card(session, customer.id, program, now, tz)
    try:
        with session.begin_nested():
            return _add(session, card, count, now, tz, via, staff_id, idempotency_key, reason)
    except IntegrityError:  # the same key, committed by another process in between
        earlier = _replay(session, idempotency_key, customer.id) if idempotency_key else None
        if earlier is None:
            raise
        return earlier


def lock_customer(session: Session, customer_id: int) -> None:
    """Take the customer's row lock for the rest of the transaction (a no-op on SQLite, whose
    writers already go one at a time)."""
    session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())


def _replay(session: Session, key: str, customer_id: int) -> GrantResult | None:
    """The earlier grant made with this key; a key used for another customer is refused."""
    entry = session.scalar(select(StampEntry).where(StampEntry.idempotency_key == key))
    if entry is None:
        return None
    if entry.customer_id != customer_id:
        raise StampRefused(KEY_USED, "the key was used for another customer")
    card = session.get(StampCard, entry.card_id)
    active = session.scalar(
        select(StampCard).where(
            StampCard.customer_id == entry.customer_id,
            StampCard.program_id == entry.program_id,
            StampCard.status == CARD_ACTIVE,
        )
    )
    return GrantResult(card=active or card, entry=entry, replayed=True)


def check_limits(
    session: Session,
    customer_id: int,
    program: StampProgram,
    count: int,
    now: datetime,
    tz: ZoneInfo,
) -> None:
    """Raise StampRefused when the per-day limit or the minimum interval forbids the grant."""
    if program.per_day_limit is not None:
        start, end = local_day(now, tz)
        given = _stamps_given(session, customer_id, program.id, start, end)
        if given + count > program.per_day_limit:
            raise StampRefused(DAILY_LIMIT, f"{given} of {program.per_day_limit} today")
    if program.min_interval_minutes:
        last = _last_grant_at(session, customer_id, program.id)
        wait = timedelta(minutes=program.min_interval_minutes)
        if last is not None and now - last < wait:
            raise StampRefused(TOO_SOON, (last + wait).isoformat())


def local_day(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The shop's calendar day around `now`, as UTC bounds."""
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time.min, tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tz)


def _not_revoked():
    """SQL: the ledger row was not revoked (one probe of the unique `revokes_id` index)."""
    revocation = aliased(StampEntry)
    return ~exists().where(revocation.revokes_id == StampEntry.id)


def _stamps_given(session, customer_id, program_id, start, end) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(StampEntry.delta), 0)).where(
            StampEntry.customer_id == customer_id,
            StampEntry.program_id == program_id,
            StampEntry.occurred_at >= start,
            StampEntry.occurred_at < end,
            StampEntry.kind.in_(COUNTED_KINDS),
            _not_revoked(),
        )
    )
    return int(total or 0)


def _last_grant_at(session, customer_id, program_id) -> datetime | None:
    return session.scalar(
        select(func.max(StampEntry.occurred_at)).where(
            StampEntry.customer_id == customer_id,
            StampEntry.program_id == program_id,
            StampEntry.kind == STAMP_GRANT,
            _not_revoked(),
        )
    )


def current_card(
    session: Session, customer_id: int, program: StampProgram, now: datetime, tz: ZoneInfo
) -> StampCard:
    """The customer's active card in the program; a card past its expiry is closed first and
    a new one started."""
    card = active_card(session, customer_id, program.id)
    if card is not None and card.expires_at is not None and card.expires_at <= now:
        _expire(session, card, now)
        card = None
    if card is None:
        card = _new_card(session, customer_id, program, now)
    return card


def active_card(session: Session, customer_id: int, program_id: int) -> StampCard | None:
    return session.scalar(
        select(StampCard).where(
            StampCard.customer_id == customer_id,
            StampCard.program_id == program_id,
            StampCard.status == CARD_ACTIVE,
        )
    )


def _new_card(
    session: Session, customer_id: int, program: StampProgram, now: datetime
) -> StampCard:
    number = session.scalar(
        select(func.coalesce(func.max(StampCard.number), 0)).where(
            StampCard.customer_id == customer_id, StampCard.program_id == program.id
        )
    )
    card = StampCard(
        program_id=program.id,
        customer_id=customer_id,
        number=int(number) + 1,
        stamps=0,
        status=CARD_ACTIVE,
        created_at=now,
    )
    card.program = program
    session.add(card)
    session.flush()
    return card


def _add(session, card, count, now, tz, via, staff_id, key, reason) -> GrantResult:
    program = card.program
    room = program.stamps_needed - card.stamps
    first = min(count, room)
    entry = _stamp(session, card, STAMP_GRANT, first, now, tz, via, staff_id, key, reason)
    result = GrantResult(card=card, entry=entry)
    _after_stamps(session, card, card.stamps - first, now, tz, result)
    left = count - first
    while left > 0:
        card = _new_card(session, card.customer_id, program, now)
        carried = min(left, program.stamps_needed)
        _stamp(session, card, STAMP_CARRY, carried, now, tz, via, staff_id, None, reason)
        _after_stamps(session, card, 0, now, tz, result)
        left -= carried
    if card.status != CARD_ACTIVE:
        card = _new_card(session, card.customer_id, program, now)
    result.card = card
    record_loyalty_event(
        session, card.customer_id, "stamp", STAMP_GRANT, now,
        count=count, program=program.name, via=via, card_id=card.id, stamps=card.stamps,
    )  # fmt: skip
    return result


def _stamp(session, card, kind, delta, now, tz, via, staff_id, key, reason) -> StampEntry:
    card.stamps += delta
    card.first_stamp_at = card.first_stamp_at or now
    card.last_stamp_at = now
    card.expires_at = expiry_of(card, now, tz)
    card.reminded_at = None  # a new stamp earns a new reminder before the new expiry
    entry = StampEntry(
        card_id=card.id,
        customer_id=card.customer_id,
        program_id=card.program_id,
        kind=kind,
        delta=delta,
        balance_after=card.stamps,
        via=via,
        staff_id=staff_id,
        reason=reason,
        idempotency_key=key,
        occurred_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


def _after_stamps(session, card, before, now, tz, result: GrantResult) -> None:
    """Issue the rewards whose milestone the card just passed; close a full card."""
    customer = session.get(Customer, card.customer_id)
    for reward in card.program.rewards:
        if before < reward.stamps <= card.stamps:
            result.rewards.append(_reward(session, reward, customer, card, now))
    if card.stamps >= card.program.stamps_needed:
        card.status = CARD_COMPLETED
        card.completed_at = now
        card.expires_at = None
        result.completed.append(card)
        session.flush()


def _reward(session, reward: StampReward, customer, card, now) -> IssueResult:
    return issue_coupon(
        session, reward.coupon, customer, now, source="reward", source_id=card.program_id
    )


def expiry_of(card: StampCard, now: datetime, tz: ZoneInfo) -> datetime | None:
    program = card.program
    days = timedelta(days=program.expiry_days or 0)
    rules = {
        EXPIRY_FROM_LAST: lambda: now + days,
        EXPIRY_FROM_FIRST: lambda: (card.first_stamp_at or now) + days,
        EXPIRY_FIXED: lambda: (
            datetime.combine(program.expiry_date + timedelta(days=1), time.min, tz)
            if program.expiry_date
            else None
        ),
    }
    rule = rules.get(program.expiry_kind)
    return rule() if rule else None


def give_starter_stamps(
    session: Session, customer: Customer, now: datetime, tz: ZoneInfo
) -> list[GrantResult]:
    """On a first follow: the starter stamps of every active program that has them, once."""
    programs = session.scalars(
        select(StampProgram).where(StampProgram.active, StampProgram.starter_stamps > 0)
    )
    results = []
    for program in programs:
        key = f"starter:{program.id}:{customer.id}"
        if session.scalar(select(StampEntry.id).where(StampEntry.idempotency_key == key)):
            continue
        card = current_card(session, customer.id, program, now, tz)
        entry = _stamp(
            session, card, STAMP_STARTER, program.starter_stamps, now, tz, "follow", None, key, None
        )
        results.append(GrantResult(card=card, entry=entry))
    return results


def revoke_grant(
    session: Session,
    entry_id: int,
    now: datetime,
    *,
    staff_id: int | None,
    reason: str,
    via: str = "staff",
) -> StampEntry:
    """Take back a grant's stamps from the card it went onto, with a reason (audited)."""
    reason = (reason or "").strip()
    if not reason:
        raise StampRefused("reason_required")
    grant = session.get(StampEntry, entry_id)
    if grant is None or grant.kind not in (STAMP_GRANT, STAMP_STARTER):
        raise StampRefused(NOT_A_GRANT)
    lock_customer(session, grant.customer_id)
    card = session.get(StampCard, grant.card_id)
    if card.status != CARD_ACTIVE:
        raise StampRefused(CARD_CLOSED)
    taken = min(grant.delta, card.stamps)
    card.stamps -= taken
    entry = StampEntry(
        card_id=card.id,
        customer_id=card.customer_id,
        program_id=card.program_id,
        kind=STAMP_REVOKE,
        delta=-taken,
        balance_after=card.stamps,
        via=via,
        staff_id=staff_id,
        reason=reason,
        revokes_id=grant.id,
        occurred_at=now,
    )
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        card.stamps += taken
        raise StampRefused(ALREADY_REVOKED) from None
    record_audit(
        session,
        staff_id,
        "stamp.revoke",
        now,
        target=("customer", card.customer_id),
        detail={"entry": grant.id, "stamps": taken, "reason": reason},
    )
    record_loyalty_event(
        session, card.customer_id, "stamp", STAMP_REVOKE, now,
        count=taken, reason=reason, revokes=grant.id, stamps=card.stamps,
    )  # fmt: skip
    return entry


def expire_cards(session: Session, now: datetime, limit: int = 500) -> int:
    """Close cards whose stamps expired (one batch); each expiry is a ledger row."""
    cards = session.scalars(
        select(StampCard)
        .where(StampCard.status == CARD_ACTIVE, StampCard.expires_at <= now)
        .order_by(StampCard.expires_at)
        .limit(limit)
    ).all()
    for card in cards:
        _expire(session, card, now)
    return len(cards)


def _expire(session: Session, card: StampCard, now: datetime) -> None:
    lost = card.stamps
    card.status = CARD_EXPIRED
    card.stamps = 0
    session.add(
        StampEntry(
            card_id=card.id,
            customer_id=card.customer_id,
            program_id=card.program_id,
            kind=STAMP_EXPIRE,
            delta=-lost,
            balance_after=0,
            via="system",
            occurred_at=now,
        )
    )
    session.flush()
    if lost:
        record_loyalty_event(
            session, card.customer_id, "stamp", STAMP_EXPIRE, now,
            count=lost, program=card.program.name, card_id=card.id,
        )  # fmt: skip


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class CardView:
    """A program as one customer sees it: stamps now, the goal, the next reward, expiry."""

    program: StampProgram
    card: StampCard | None
    stamps: int
    goal: int
    next_reward: StampReward | None
    expires_at: datetime | None
    completed_cards: int


def card_views(session: Session, customer_id: int, now: datetime) -> list[CardView]:
    """Every active program with the customer's card in it (0 stamps where none yet)."""
    programs = session.scalars(
        select(StampProgram)
        .where(StampProgram.active)
        .order_by(StampProgram.is_default.desc(), StampProgram.id)
    ).all()
    return [card_view(session, customer_id, program, now) for program in programs]


def card_view(session: Session, customer_id: int, program: StampProgram, now: datetime) -> CardView:
    card = active_card(session, customer_id, program.id)
    if card is not None and card.expires_at is not None and card.expires_at <= now:
        card = None  # expired by the clock; the job records it
    stamps = card.stamps if card else 0
    completed = session.scalar(
        select(func.count()).where(
            StampCard.customer_id == customer_id,
            StampCard.program_id == program.id,
            StampCard.status == CARD_COMPLETED,
        )
    )
    upcoming = [r for r in program.rewards if r.stamps > stamps]
    return CardView(
        program=program,
        card=card,
        stamps=stamps,
        goal=program.stamps_needed,
        next_reward=upcoming[0] if upcoming else None,
        expires_at=card.expires_at if card else None,
        completed_cards=int(completed or 0),
    )


def stamp_ledger(
    session: Session, customer_id: int, program_id: int | None = None, limit: int = 100
) -> list[StampEntry]:
    statement = select(StampEntry).where(StampEntry.customer_id == customer_id)
    if program_id is not None:
        statement = statement.where(StampEntry.program_id == program_id)
    return list(session.scalars(statement.order_by(StampEntry.id.desc()).limit(limit)))
