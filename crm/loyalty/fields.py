"""Loyalty's segment fields (crm/segments.py's registry): stamps on a card, stamp visits, coupons
held and coupons redeemed. Each is a correlated subquery on `customers` that a loyalty index
answers per customer (the status values are written into the SQL so that SQLite, too, uses the
partial indexes on `status = 'active'` / `'valid'`).

    {"field": "stamps", "op": "gte", "value": 5}            the default program's card
    {"field": "stamps:3", "op": "lt", "value": 2}           program 3's card
    {"field": "stamp_visits_days", "op": "lt", "value": 30}
    {"field": "coupon_held", "op": "has", "value": 7}       or "any"
    {"field": "coupon_redeemed", "op": "has", "value": "any"}
    {"field": "coupon_redeemed", "op": "within_days", "value": {"coupon": 7, "days": 30}}
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import exists, func, literal_column, not_, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from crm.loyalty.models import (
    CARD_ACTIVE,
    COUPON_REDEMPTION,
    COUPON_VALID,
    STAMP_GRANT,
    Coupon,
    CouponEntry,
    IssuedCoupon,
    StampCard,
    StampEntry,
    StampProgram,
)
from crm.models import Customer
from crm.segments import COMPARISONS, Context, SegmentError, register_field
from crm.segments import PREFIXED as PREFIXED_FIELDS

MOST_STAMPS = 1_000_000
MOST_DAYS = 36500
ANY = "any"


def _sql_text(value: str) -> ColumnElement:
    """A constant written into the SQL, so a partial index on it can be used."""
    return literal_column(f"'{value}'")


# Stamps ------------------------------------------------------------------------------------


def _stamps(context: Context, op: str, value: Any, where: str) -> ColumnElement:
    """`stamps`: stamps on the customer's active card of the default program (0 without one)."""
    default = context.session.scalar(select(StampProgram.id).where(StampProgram.is_default))
    return _stamps_on_card(context, default, op, value, where)


def _program_stamps(context: Context, rest: str, op: str, value: Any, where: str):
    """`stamps:<program id>`: the same for another program."""
    if not (rest.isascii() and rest.isdigit() and len(rest) <= 18):
        raise SegmentError(f"{where}.field", "stamps:<program id>")
    if context.session.get(StampProgram, int(rest)) is None:
        raise SegmentError(f"{where}.field", f"no stamp program {rest}")
    return _stamps_on_card(context, int(rest), op, value, where)


def _stamps_on_card(context: Context, program_id: int | None, op: str, value: Any, where: str):
    """The count on the active card; a card past its expiry counts 0 (as the customer sees it,
    before the job records the expiry). `eq`, `ne`, `lt`, `lte`, `gt`, `gte` a whole number."""
    if op not in COMPARISONS:
        raise SegmentError(f"{where}.op", f"one of {', '.join(COMPARISONS)}")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MOST_STAMPS:
        raise SegmentError(f"{where}.value", "a whole number of stamps")
    on_card = (
        select(StampCard.stamps)
        .where(
            StampCard.customer_id == Customer.id,
            StampCard.program_id == program_id,
            StampCard.status == _sql_text(CARD_ACTIVE),
            or_(StampCard.expires_at.is_(None), StampCard.expires_at > context.now),
        )
        .scalar_subquery()
    )
    return COMPARISONS[op](func.coalesce(on_card, 0), value)


def _stamp_visits_days(context: Context, op: str, value: Any, where: str) -> ColumnElement:
    """`stamp_visits_days`: days since the customer's latest stamp visit. A visit is a grant of
    stamps in any program (by staff, the counter QR, the member QR or the API) that was not
    revoked; starter stamps on follow and stamps carried onto a new card are not visits.

    - `lt N`: a visit within the last N days;
    - `gt N`: visited before, but not within the last N days (lapsed);
    - `between [a, b]`: the latest visit was a to b days ago;
    - `not_within N`: no visit within the last N days, customers who never visited included.
    """
    revoking = aliased(StampEntry)
    latest = (
        select(func.max(StampEntry.occurred_at))
        .where(
            StampEntry.customer_id == Customer.id,
            StampEntry.kind == _sql_text(STAMP_GRANT),
            ~exists().where(revoking.revokes_id == StampEntry.id),
        )
        .scalar_subquery()
    )
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise SegmentError(f"{where}.value", "[fewest, most] days ago")
        low, high = sorted(_days(v, f"{where}.value") for v in value)
        return latest.between(context.now - timedelta(days=high), context.now - timedelta(days=low))
    checks = {
        "lt": lambda moment: latest > moment,
        "gt": lambda moment: latest < moment,
        "not_within": lambda moment: or_(latest.is_(None), latest <= moment),
    }
    if op not in checks:
        raise SegmentError(f"{where}.op", "lt, gt, between or not_within")
    return checks[op](context.now - timedelta(days=_days(value, f"{where}.value")))


def _days(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MOST_DAYS:
        raise SegmentError(where, "a whole number of days")
    return value


# Coupons -----------------------------------------------------------------------------------


def _coupon(context: Context, value: Any, where: str) -> int | None:
    """A coupon id (a number or its digits) that exists, or None for "any"."""
    if value == ANY:
        return None
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise SegmentError(where, 'a coupon id or "any"')
    if context.session.get(Coupon, int(text)) is None:
        raise SegmentError(where, f"no coupon {text}")
    return int(text)


def _coupon_held(context: Context, op: str, value: Any, where: str) -> ColumnElement:
    """`coupon_held`: `has` / `not_has` a valid code of that coupon (or of `"any"`) that has
    not expired by the clock and is not used up; a code not yet valid is held too."""
    if op not in ("has", "not_has"):
        raise SegmentError(f"{where}.op", "has or not_has")
    coupon_id = _coupon(context, value, f"{where}.value")
    held = exists().where(
        IssuedCoupon.customer_id == Customer.id,
        IssuedCoupon.status == _sql_text(COUPON_VALID),
        or_(IssuedCoupon.valid_until.is_(None), IssuedCoupon.valid_until > context.now),
    )
    if coupon_id is not None:
        held = held.where(IssuedCoupon.coupon_id == coupon_id)
    return held if op == "has" else not_(held)


def _coupon_redeemed(context: Context, op: str, value: Any, where: str) -> ColumnElement:
    """`coupon_redeemed`: a redemption of that coupon (or of `"any"`) that was not undone.
    `has` / `not_has` take the coupon; `within_days` / `not_within_days` take
    `{"coupon": id or "any", "days": N}` (redeemed in the last N days, or not)."""
    if op in ("has", "not_has"):
        coupon_id, since = _coupon(context, value, f"{where}.value"), None
    elif op in ("within_days", "not_within_days"):
        if not isinstance(value, dict):
            raise SegmentError(f"{where}.value", '{"coupon": id or "any", "days": N}')
        coupon_id = _coupon(context, value.get("coupon"), f"{where}.value.coupon")
        since = context.now - timedelta(days=_days(value.get("days"), f"{where}.value.days"))
    else:
        raise SegmentError(f"{where}.op", "has, not_has, within_days or not_within_days")
    undoing = aliased(CouponEntry)
    redeemed = exists().where(
        CouponEntry.customer_id == Customer.id,
        CouponEntry.kind == _sql_text(COUPON_REDEMPTION),
        ~exists().where(undoing.undoes_id == CouponEntry.id),
    )
    if coupon_id is not None:
        redeemed = redeemed.where(CouponEntry.coupon_id == coupon_id)
    if since is not None:
        redeemed = redeemed.where(CouponEntry.occurred_at >= since)
    return redeemed if op in ("has", "within_days") else not_(redeemed)


register_field("stamps", _stamps)
register_field("stamp_visits_days", _stamp_visits_days)
register_field("coupon_held", _coupon_held)
register_field("coupon_redeemed", _coupon_redeemed)
PREFIXED_FIELDS["stamps"] = _program_stamps
