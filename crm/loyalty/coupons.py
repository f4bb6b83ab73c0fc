"""Coupons: templates, codes issued to customers, redemption exactly once, undo, revocation and
expiry. Every change is a row in the coupon ledger, written in the same transaction.

The database keeps the promises that matter at a busy counter:
- a code is redeemed by one conditional UPDATE (`uses < usable_times AND status = 'valid' AND
  within validity`), so of twenty simultaneous redemptions exactly one changes a row;
- a customer's draws of one coupon are numbered (`slot` 1…per-customer limit, unique), so a
  draw past the limit is refused by the unique constraint, not by a count read earlier;
- the total limit is a conditional UPDATE of the template's `issued_count`;
- an undo points at the redemption it undoes (`undoes_id`, unique), so it happens once.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.field_errors import FieldError
from crm.loyalty.models import (
    COUPON_EXPIRED,
    COUPON_EXPIRY,
    COUPON_ISSUED,
    COUPON_LOST,
    COUPON_LOTTERY_LOST,
    COUPON_REDEEMED,
    COUPON_REDEMPTION,
    COUPON_REVOCATION,
    COUPON_REVOKED,
    COUPON_UNDONE,
    COUPON_VALID,
    DISCOUNT_TYPES,
    Coupon,
    CouponEntry,
    IssuedCoupon,
)
from crm.loyalty.timeline import record_loyalty_event
from crm.models import BLOCKED, Customer

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
CODE_LENGTH = 12  # 60 random bits
UNDO_WINDOW = timedelta(minutes=5)
SOURCES = ("staff", "api", "campaign", "reward", "survey", "follow")

# Why an issue gave no code (the API and the inbox show these).
LIMIT_REACHED = "limit_reached"
SOLD_OUT = "sold_out"
LOTTERY_LOST = "lottery_lost"
CUSTOMER_BLOCKED = "blocked"
COUPON_INACTIVE = "inactive"
COUPON_ENDED = "ended"
UNKNOWN_CUSTOMER = "unknown_customer"

# Why a redemption or an undo was refused.
UNKNOWN_CODE = "unknown_code"
ALREADY_USED = "already_redeemed"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
REVOKED = "revoked"
UNDO_TOO_LATE = "undo_too_late"
UNDO_OTHER_STAFF = "undo_other_staff"
ALREADY_UNDONE = "already_undone"


class CouponError(FieldError):
    """A coupon template refused, naming the field."""


class CouponRefused(ValueError):
    """A redemption, undo or revocation that cannot happen; `reason` is one of the codes above."""

    def __init__(self, reason: str, issued: IssuedCoupon | None = None):
        super().__init__(reason)
        self.reason = reason
        self.issued = issued


@dataclass(frozen=True)
class CouponInput:
    title: str
    discount_type: str
    description: str | None = None
    image_url: str | None = None
    discount_value: int | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days: int | None = None
    per_customer_limit: int = 1
    total_limit: int | None = None
    lottery_percent: int | None = None
    usable_times: int = 1
    remind_days_before: int | None = None
    active: bool = True


@dataclass(frozen=True)
class IssueResult:
    """What one customer got: a code, or why not."""

    customer_id: int
    issued: IssuedCoupon | None = None
    refused: str | None = None


# ---------------------------------------------------------------- templates


def check_coupon(data: CouponInput) -> None:
    """Raise CouponError naming the first field at fault."""
    if not 1 <= len((data.title or "").strip()) <= 100:
        raise CouponError("title", "1–100 characters")
    if data.description is not None and len(data.description) > 1000:
        raise CouponError("description", "at most 1000 characters")
    if data.image_url is not None and not _is_https(data.image_url):
        raise CouponError("image_url", "an https:// address of at most 2000 characters")
    if data.discount_type not in DISCOUNT_TYPES:
        raise CouponError("discount_type", " / ".join(DISCOUNT_TYPES))
    _check_discount_value(data)
    _check_validity(data)
    _check_int("per_customer_limit", data.per_customer_limit, 1, 1000)
    _check_int("total_limit", data.total_limit, 1, 10_000_000, optional=True)
    _check_int("lottery_percent", data.lottery_percent, 1, 99, optional=True)
    _check_int("usable_times", data.usable_times, 1, 100)
    _check_int("remind_days_before", data.remind_days_before, 1, 90, optional=True)


def _is_https(url: str) -> bool:
    return isinstance(url, str) and url.startswith("https://") and 9 <= len(url) <= 2000


def _check_discount_value(data: CouponInput) -> None:
    if data.discount_type == "amount":
        _check_int("discount_value", data.discount_value, 1, 10_000_000)
    elif data.discount_type == "percent":
        _check_int("discount_value", data.discount_value, 1, 100)
    else:
        _check_int("discount_value", data.discount_value, 0, 10_000_000, optional=True)


def _check_validity(data: CouponInput) -> None:
    for where in ("valid_from", "valid_until"):
        value = getattr(data, where)
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise CouponError(where, "a date and time with its offset")
    if data.valid_until is not None and data.valid_days is not None:
        raise CouponError("valid_days", "give valid_until or valid_days, not both")
    if data.valid_from and data.valid_until and data.valid_until <= data.valid_from:
        raise CouponError("valid_until", "must be after valid_from")
    _check_int("valid_days", data.valid_days, 1, 3650, optional=True)


def _check_int(where: str, value: Any, low: int, high: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CouponError(where, f"a whole number from {low} to {high}")


def create_coupon(session: Session, data: CouponInput) -> Coupon:
    check_coupon(data)
    coupon = Coupon(**_columns(data))
    session.add(coupon)
    session.flush()
    return coupon


def change_coupon(session: Session, coupon: Coupon, data: CouponInput) -> None:
    """Codes already issued keep the validity they were issued with."""
    check_coupon(data)
    if data.total_limit is not None and data.total_limit < coupon.issued_count:
        raise CouponError("total_limit", f"{coupon.issued_count} are already issued")
    for name, value in _columns(data).items():
        setattr(coupon, name, value)
    session.flush()


def _columns(data: CouponInput) -> dict[str, Any]:
    columns = {name: getattr(data, name) for name in CouponInput.__dataclass_fields__}
    columns["title"] = data.title.strip()
    return columns


def list_coupons(session: Session, active_only: bool = False) -> list[Coupon]:
    statement = select(Coupon).order_by(Coupon.id.desc())
    if active_only:
        statement = statement.where(Coupon.active)
    return list(session.scalars(statement))


# ---------------------------------------------------------------- issuing


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def shown_code(code: str) -> str:
    """The code as people read it: XXXX-XXXX-XXXX."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(text: str) -> str:
    """What a clerk typed or a scanner read, as stored: full-width folded, dashes and spaces
    dropped, upper case, the letters people confuse with digits read as those digits."""
    folded = unicodedata.normalize("NFKC", text or "").upper()
    kept = "".join(ch for ch in folded if ch.isalnum())
    return kept.translate(str.maketrans("OIL", "011"))


def issue_coupon(
    session: Session,
    coupon: Coupon,
    customer: Customer,
    now: datetime,
    *,
    source: str,
    source_id: int | None = None,
    staff_id: int | None = None,
    draw: Any = None,
) -> IssueResult:
    """Give one code to one customer, or say why not. `draw()` returns 0–99 for the lottery
    (a secure random number unless a test passes its own)."""
    refused = _refusal(coupon, customer, now)
    if refused:
        return IssueResult(customer.id, refused=refused)
    slot = _next_slot(session, coupon.id, customer.id)
    if slot > coupon.per_customer_limit:
        return IssueResult(customer.id, refused=LIMIT_REACHED)
    won = coupon.lottery_percent is None or (draw or _draw)() < coupon.lottery_percent
    try:
        with session.begin_nested():
            if won and not _take_from_total(session, coupon):
                return IssueResult(customer.id, refused=SOLD_OUT)
            issued = _new_issued(coupon, customer, slot, won, now, source, source_id)
            session.add(issued)
            session.flush()
    except IntegrityError:  # the same customer drew at the same moment elsewhere
        return IssueResult(customer.id, refused=LIMIT_REACHED)
    kind = COUPON_ISSUED if won else COUPON_LOTTERY_LOST
    _log(session, issued, kind, source, staff_id, now, detail={"source_id": source_id})
    if not won:
        return IssueResult(customer.id, refused=LOTTERY_LOST)
    record_loyalty_event(
        session, customer.id, "coupon", COUPON_ISSUED, now,
        title=coupon.title, issued_coupon_id=issued.id, source=source,
    )  # fmt: skip
    return IssueResult(customer.id, issued=issued)


def _draw() -> int:
    return secrets.randbelow(100)


def _refusal(coupon: Coupon, customer: Customer, now: datetime) -> str | None:
    if not coupon.active:
        return COUPON_INACTIVE
    if coupon.valid_until is not None and coupon.valid_until <= now:
        return COUPON_ENDED
    if customer.follow_status == BLOCKED:
        return CUSTOMER_BLOCKED
    return None


def _next_slot(session: Session, coupon_id: int, customer_id: int) -> int:
    highest = session.scalar(
        select(func.max(IssuedCoupon.slot)).where(
            IssuedCoupon.coupon_id == coupon_id, IssuedCoupon.customer_id == customer_id
        )
    )
    return (highest or 0) + 1


def _take_from_total(session: Session, coupon: Coupon) -> bool:
    """Count one more winner, unless the total limit is reached (one conditional UPDATE)."""
    result = session.execute(
        update(Coupon)
        .where(
            Coupon.id == coupon.id,
            or_(Coupon.total_limit.is_(None), Coupon.issued_count < Coupon.total_limit),
        )
        .values(issued_count=Coupon.issued_count + 1)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _new_issued(coupon, customer, slot, won, now, source, source_id) -> IssuedCoupon:
    until = coupon.valid_until
    if until is None and coupon.valid_days:
        until = now + timedelta(days=coupon.valid_days)
    return IssuedCoupon(
        coupon_id=coupon.id,
        customer_id=customer.id,
        slot=slot,
        code=new_code() if won else None,
        status=COUPON_VALID if won else COUPON_LOST,
        uses=0,
        usable_times=coupon.usable_times,
        valid_from=coupon.valid_from,
        valid_until=until,
        source=source,
        source_id=source_id,
        issued_at=now,
    )


def issue_to_customers(
    session: Session,
    coupon: Coupon,
    customer_ids: Iterable[int],
    now: datetime,
    *,
    source: str,
    source_id: int | None = None,
    staff_id: int | None = None,
) -> list[IssueResult]:
    """One result per customer id, in the order given (unknown ids say so)."""
    ids = list(dict.fromkeys(customer_ids))
    customers = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    results = []
    for customer_id in ids:
        customer = customers.get(customer_id)
        if customer is None:
            results.append(IssueResult(customer_id, refused=UNKNOWN_CUSTOMER))
            continue
        results.append(
            issue_coupon(
                session,
                coupon,
                customer,
                now,
                source=source,
                source_id=source_id,
                staff_id=staff_id,
            )
        )
    return results


# ---------------------------------------------------------------- redeeming


def find_issued(session: Session, code: str) -> IssuedCoupon | None:
    normalised = normalise_code(code)
    if not normalised or len(normalised) > 32:
        return None
    return session.scalar(select(IssuedCoupon).where(IssuedCoupon.code == normalised))


def redeem(
    session: Session, code: str, now: datetime, *, via: str, staff_id: int | None = None
) -> tuple[IssuedCoupon, CouponEntry]:
    """Use a code once; raises CouponRefused with the reason when it cannot be used now."""
    issued = find_issued(session, code)
    if issued is None:
        raise CouponRefused(UNKNOWN_CODE)
    result = session.execute(
        update(IssuedCoupon)
        .where(IssuedCoupon.id == issued.id, *_usable_now(now))
        .values(
            uses=IssuedCoupon.uses + 1,
            status=case(
                (IssuedCoupon.uses + 1 >= IssuedCoupon.usable_times, COUPON_REDEEMED),
                else_=COUPON_VALID,
            ),
            redeemed_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(issued)
    if result.rowcount != 1:
        raise CouponRefused(why_unusable(issued, now), issued)
    entry = _log(session, issued, COUPON_REDEMPTION, via, staff_id, now)
    record_loyalty_event(
        session, issued.customer_id, "coupon", COUPON_REDEMPTION, now,
        title=issued.coupon.title, issued_coupon_id=issued.id, via=via,
    )  # fmt: skip
    return issued, entry


def _usable_now(now: datetime) -> list:
    return [
        IssuedCoupon.status == COUPON_VALID,
        IssuedCoupon.uses < IssuedCoupon.usable_times,
        or_(IssuedCoupon.valid_from.is_(None), IssuedCoupon.valid_from <= now),
        or_(IssuedCoupon.valid_until.is_(None), IssuedCoupon.valid_until > now),
    ]


def why_unusable(issued: IssuedCoupon, now: datetime) -> str:
    """The reason a code cannot be used at `now` (the status the customer would see)."""
    status = status_at(issued, now)
    if status == COUPON_VALID and issued.valid_from is not None and issued.valid_from > now:
        return NOT_YET_VALID
    return {
        COUPON_REDEEMED: ALREADY_USED,
        COUPON_EXPIRED: EXPIRED,
        COUPON_REVOKED: REVOKED,
        COUPON_LOST: UNKNOWN_CODE,
    }.get(status, ALREADY_USED)


def status_at(issued: IssuedCoupon, now: datetime) -> str:
    """valid / redeemed / expired / revoked, with expiry read from the clock (the job that
    records it may not have run yet)."""
    if (
        issued.status == COUPON_VALID
        and issued.valid_until is not None
        and issued.valid_until <= now
    ):
        return COUPON_EXPIRED
    return issued.status


def undo_redemption(
    session: Session, entry_id: int, staff_id: int | None, now: datetime
) -> IssuedCoupon:
    """Take back a redemption made by the same clerk a few minutes ago."""
    entry = session.get(CouponEntry, entry_id)
    if entry is None or entry.kind != COUPON_REDEMPTION:
        raise CouponRefused(UNKNOWN_CODE)
    issued = session.get(IssuedCoupon, entry.issued_coupon_id)
    if entry.staff_id != staff_id:
        raise CouponRefused(UNDO_OTHER_STAFF, issued)
    if now - entry.occurred_at > UNDO_WINDOW:
        raise CouponRefused(UNDO_TOO_LATE, issued)
    try:
        with session.begin_nested():
            _log(session, issued, COUPON_UNDONE, entry.via, staff_id, now, undoes_id=entry.id)
            session.flush()
    except IntegrityError:
        raise CouponRefused(ALREADY_UNDONE, issued) from None
    session.execute(
        update(IssuedCoupon)
        .where(IssuedCoupon.id == issued.id, IssuedCoupon.uses > 0)
        .values(uses=IssuedCoupon.uses - 1, status=COUPON_VALID, redeemed_at=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(issued)
    record_loyalty_event(
        session, issued.customer_id, "coupon", COUPON_UNDONE, now,
        title=issued.coupon.title, issued_coupon_id=issued.id,
    )  # fmt: skip
    return issued


def revoke(
    session: Session, issued: IssuedCoupon, now: datetime, *, staff_id: int | None, reason: str
) -> None:
    """Withdraw a code that was not used up (a mistake, abuse); the reason is kept."""
    result = session.execute(
        update(IssuedCoupon)
        .where(IssuedCoupon.id == issued.id, IssuedCoupon.status == COUPON_VALID)
        .values(status=COUPON_REVOKED)
        .execution_options(synchronize_session=False)
    )
    session.refresh(issued)
    if result.rowcount != 1:
        raise CouponRefused(why_unusable(issued, now), issued)
    _log(session, issued, COUPON_REVOCATION, "staff", staff_id, now, reason=reason)
    record_loyalty_event(
        session, issued.customer_id, "coupon", COUPON_REVOCATION, now,
        title=issued.coupon.title, reason=reason, issued_coupon_id=issued.id,
    )  # fmt: skip


def expire_coupons(session: Session, now: datetime, limit: int = 500) -> int:
    """Record the expiry of codes whose validity ended; returns how many (one batch)."""
    due = (
        select(IssuedCoupon.id)
        .where(IssuedCoupon.status == COUPON_VALID, IssuedCoupon.valid_until <= now)
        .order_by(IssuedCoupon.valid_until)
        .limit(limit)
    )
    rows = session.execute(
        update(IssuedCoupon)
        .where(IssuedCoupon.id.in_(due.scalar_subquery()), IssuedCoupon.status == COUPON_VALID)
        .values(status=COUPON_EXPIRED)
        .returning(IssuedCoupon.id, IssuedCoupon.coupon_id, IssuedCoupon.customer_id)
        .execution_options(synchronize_session=False)
    ).all()
    session.add_all(
        CouponEntry(
            issued_coupon_id=row.id,
            coupon_id=row.coupon_id,
            customer_id=row.customer_id,
            kind=COUPON_EXPIRY,
            via="system",
            occurred_at=now,
        )
        for row in rows
    )
    return len(rows)


def _log(session, issued, kind, via, staff_id, now, *, reason=None, undoes_id=None, detail=None):
    entry = CouponEntry(
        issued_coupon_id=issued.id,
        coupon_id=issued.coupon_id,
        customer_id=issued.customer_id,
        kind=kind,
        via=via,
        staff_id=staff_id,
        reason=reason,
        undoes_id=undoes_id,
        detail=detail,
        occurred_at=now,
    )
    session.add(entry)
    session.flush()
    return entry


# ---------------------------------------------------------------- reading


def customer_coupons(
    session: Session, customer_id: int, *, valid_only: bool = False, now: datetime | None = None
) -> list[IssuedCoupon]:
    """The customer's codes (lottery losses left out), newest first."""
    statement = (
        select(IssuedCoupon)
        .where(IssuedCoupon.customer_id == customer_id, IssuedCoupon.status != COUPON_LOST)
        .order_by(IssuedCoupon.id.desc())
    )
    if valid_only:
        statement = statement.where(*_usable_now(now)) if now else statement
    return list(session.scalars(statement))


def valid_coupons(session: Session, customer_id: int, now: datetime) -> list[IssuedCoupon]:
    """Codes the customer can use now or later (not yet valid included), soonest ending first."""
    statement = (
        select(IssuedCoupon)
        .where(
            IssuedCoupon.customer_id == customer_id,
            IssuedCoupon.status == COUPON_VALID,
            or_(IssuedCoupon.valid_until.is_(None), IssuedCoupon.valid_until > now),
        )
        .order_by(IssuedCoupon.valid_until.is_(None), IssuedCoupon.valid_until, IssuedCoupon.id)
    )
    return list(session.scalars(statement))


def coupon_ledger(session: Session, issued_id: int) -> list[CouponEntry]:
    return list(
        session.scalars(
            select(CouponEntry)
            .where(CouponEntry.issued_coupon_id == issued_id)
            .order_by(CouponEntry.id)
        )
    )


def last_redemption(session: Session, issued_id: int) -> CouponEntry | None:
    """The latest redemption of a code that is not undone (what the undo button takes back)."""
    undone = select(CouponEntry.undoes_id).where(CouponEntry.undoes_id.is_not(None))
    return session.scalar(
        select(CouponEntry)
        .where(
            and_(
                CouponEntry.issued_coupon_id == issued_id,
                CouponEntry.kind == COUPON_REDEMPTION,
                CouponEntry.id.not_in(undone),
            )
        )
        .order_by(CouponEntry.id.desc())
        .limit(1)
    )
