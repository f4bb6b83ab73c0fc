"""What staff see of one customer's loyalty, on the counter screen and in the customer panel:
a card per active program, the coupons with their state, the member number, the latest stamps
with whether each can still be taken back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.loyalty.coupons import customer_coupons, shown_code, status_at, valid_coupons
from crm.loyalty.models import (
    COUPON_VALID,
    STAMP_GRANT,
    STAMP_STARTER,
    IssuedCoupon,
    MemberCard,
    StampEntry,
    StampProgram,
)
from crm.loyalty.programs import default_program
from crm.loyalty.stamps import CardView, card_views, stamp_ledger
from crm.models import Staff
from request_scope import request_session, services

LEDGER_SHOWN = 10
COUPONS_SHOWN = 20
NOT_YET_VALID = "not_yet_valid"


@dataclass(frozen=True)
class CouponLine:
    issued: IssuedCoupon
    state: str  # valid / redeemed / expired / revoked / not_yet_valid
    code: str  # as people read it

    @property
    def usable(self) -> bool:
        return self.state == COUPON_VALID


@dataclass(frozen=True)
class LedgerLine:
    entry: StampEntry
    program: str
    staff: str | None
    revocable: bool


@dataclass(frozen=True)
class LoyaltySummary:
    cards: list[CardView]
    coupons: list[CouponLine]
    member_number: str | None
    ledger: list[LedgerLine]


def coupon_line(issued: IssuedCoupon, now: datetime) -> CouponLine:
    """An issued coupon with the state a clerk needs: not yet valid is told apart."""
    state = status_at(issued, now)
    if state == COUPON_VALID and issued.valid_from is not None and issued.valid_from > now:
        state = NOT_YET_VALID
    return CouponLine(issued, state, shown_code(issued.code or ""))


def loyalty_summary(
    session: Session, customer_id: int, now: datetime, *, counter: bool = False
) -> LoyaltySummary:
    """The counter needs usable coupons only and no ledger; the panel shows every coupon."""
    cards = card_views(session, customer_id, now)
    if counter:
        issued = valid_coupons(session, customer_id, now)
    else:
        issued = customer_coupons(session, customer_id)[:COUPONS_SHOWN]
    member = session.get(MemberCard, customer_id)
    return LoyaltySummary(
        cards=cards,
        coupons=[coupon_line(item, now) for item in issued],
        member_number=member.number if member else None,
        ledger=[] if counter else _ledger(session, customer_id, cards),
    )


def _ledger(session: Session, customer_id: int, cards: list[CardView]) -> list[LedgerLine]:
    entries = stamp_ledger(session, customer_id, limit=LEDGER_SHOWN)
    revoked = {e.revokes_id for e in entries if e.revokes_id is not None}
    open_cards = {view.card.id for view in cards if view.card is not None}
    programs = dict(session.execute(select(StampProgram.id, StampProgram.name)).all())
    staff_ids = {e.staff_id for e in entries if e.staff_id}
    names = dict(
        session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(staff_ids))).all()
        if staff_ids
        else []
    )
    return [
        LedgerLine(
            entry=e,
            program=programs.get(e.program_id, ""),
            staff=names.get(e.staff_id),
            revocable=e.kind in (STAMP_GRANT, STAMP_STARTER)
            and e.id not in revoked
            and e.card_id in open_cards,
        )
        for e in entries
    ]


def member_numbers(session: Session, customer_ids: list[int]) -> dict[int, str]:
    """Member numbers of the listed customers who have one."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(MemberCard.customer_id, MemberCard.number).where(
            MemberCard.customer_id.in_(customer_ids)
        )
    )
    return dict(rows.all())


def ensure_default_program() -> None:
    """The default program exists out of the box: made in a write transaction the first time a
    loyalty screen opens, so reads never create it."""
    session = request_session()
    if session.scalar(select(StampProgram.id).where(StampProgram.is_default)) is not None:
        return
    with services().db.transaction() as tx:
        default_program(tx)
    refresh_reads()


def refresh_reads() -> None:
    """After a write: the request's read session starts a new snapshot (SQLite keeps one per
    read transaction) and forgets what it loaded."""
    request_session().rollback()
