"""/api/v1/coupons: coupon templates, created, listed with their codes counted, and changed.
Issuing and redeeming codes is in api/loyalty_codes.py."""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify
from sqlalchemy import and_, case, func, select

from api.errors import InvalidParameter
from api.loyalty_schemas import (
    Coupon,
    CouponChange,
    CouponCounts,
    CouponIn,
    CouponPage,
)
from api.schemas import Error, PageQuery
from api.spec import operation
from crm.audit import record_audit
from crm.clock import utcnow
from crm.loyalty.coupons import (
    CouponError,
    CouponInput,
    change_coupon,
    create_coupon,
)
from crm.loyalty.models import (
    COUPON_EXPIRED,
    COUPON_LOST,
    COUPON_VALID,
    IssuedCoupon,
)
from crm.loyalty.models import Coupon as CouponRow
from request_scope import request_session, services

bp = Blueprint("loyalty_coupons", __name__)
REQUIRED = ("title", "discount_type", "per_customer_limit", "usable_times", "active")


def coupon_counts(session, coupon_ids: list[int]) -> dict[int, CouponCounts]:
    """Codes of each coupon by what the customer would see now, in one query."""
    now = utcnow()
    shown = case(
        (
            and_(IssuedCoupon.status == COUPON_VALID, IssuedCoupon.valid_until <= now),
            COUPON_EXPIRED,
        ),
        else_=IssuedCoupon.status,
    )
    used = func.sum(case((IssuedCoupon.uses > 0, 1), else_=0))
    rows = session.execute(
        select(IssuedCoupon.coupon_id, shown, func.count(), used)
        .where(IssuedCoupon.coupon_id.in_(coupon_ids))
        .group_by(IssuedCoupon.coupon_id, shown)
    )
    tally = {
        i: {"issued": 0, "redeemed": 0, "expired": 0, "revoked": 0, "lottery_lost": 0}
        for i in coupon_ids
    }
    for coupon_id, status, count, used_count in rows:
        counts = tally[coupon_id]
        if status == COUPON_LOST:
            counts["lottery_lost"] += count
            continue
        counts["issued"] += count
        counts["redeemed"] += int(used_count or 0)
        if status in ("expired", "revoked"):
            counts[status] += count
    return {i: CouponCounts(**counts) for i, counts in tally.items()}


def coupon_body(row: CouponRow, counts: CouponCounts) -> dict:
    """A coupon template as the API shows it."""
    fields = {name: getattr(row, name) for name in Coupon.model_fields if name != "counts"}
    return Coupon(**fields, counts=counts).model_dump(mode="json")


def one_coupon(session, row: CouponRow) -> dict:
    """The coupon as stored (times read back in UTC), with its counts."""
    session.refresh(row)
    return coupon_body(row, coupon_counts(session, [row.id])[row.id])


@operation(
    bp,
    "/coupons",
    "Create a coupon template",
    {201: (Coupon, "the coupon, with its id")},
    method="POST",
    body=CouponIn,
)
def create(body: CouponIn):
    """Create a coupon template; a 422 names the field at fault."""
    with services().db.transaction() as session:
        try:
            row = create_coupon(session, CouponInput(**body.model_dump()))
        except CouponError as exc:
            raise InvalidParameter(exc.where, exc.message) from None
        audit(session, "api.coupon_created", row.id)
        answer = one_coupon(session, row)
    return jsonify(answer), 201


@operation(
    bp,
    "/coupons",
    "Coupon templates, newest first, with their codes counted",
    {200: (CouponPage, "a page of coupons")},
    query=PageQuery,
)
def index(query: PageQuery):
    """Coupon templates, newest first, keyset-paginated."""
    session = request_session()
    statement = select(CouponRow).order_by(CouponRow.id.desc()).limit(query.limit + 1)
    if query.cursor is not None:
        statement = statement.where(CouponRow.id < query.cursor)
    rows = session.scalars(statement).all()
    page = rows[: query.limit]
    counts = coupon_counts(session, [row.id for row in page])
    return jsonify(
        {
            "data": [coupon_body(row, counts[row.id]) for row in page],
            "next_cursor": page[-1].id if len(rows) > query.limit else None,
        }
    )


@operation(
    bp,
    "/coupons/<id:coupon_id>",
    "One coupon template with its codes counted (issued, redeemed, expired...)",
    {200: (Coupon, "the coupon"), 404: (Error, "no such coupon")},
)
def show(coupon_id: int):
    """One coupon template with its counts."""
    session = request_session()
    row = session.get(CouponRow, coupon_id) or abort(404)
    return jsonify(one_coupon(session, row))


@operation(
    bp,
    "/coupons/<id:coupon_id>",
    "Change a coupon template; codes already issued keep their validity",
    {200: (Coupon, "the coupon as changed"), 404: (Error, "no such coupon")},
    method="PATCH",
    body=CouponChange,
)
def change(coupon_id: int, body: CouponChange):
    """Change the fields given; a 422 names the field at fault."""
    with services().db.transaction() as session:
        row = session.get(CouponRow, coupon_id) or abort(404)
        try:
            change_coupon(session, row, changed_input(row, body))
        except CouponError as exc:
            raise InvalidParameter(exc.where, exc.message) from None
        audit(session, "api.coupon_changed", row.id)
        answer = one_coupon(session, row)
    return jsonify(answer)


def changed_input(row: CouponRow, body: CouponChange) -> CouponInput:
    """The template as it is, with the fields the body gives; validity is given as a date or
    as days, so giving one clears the other."""
    current = {name: getattr(row, name) for name in CouponInput.__dataclass_fields__}
    changes = {
        name: value
        for name, value in body.model_dump(exclude_unset=True).items()
        if value is not None or name not in REQUIRED  # null for a required field: unchanged
    }
    for given, other in (("valid_until", "valid_days"), ("valid_days", "valid_until")):
        if changes.get(given) is not None and other not in changes:
            changes[other] = None
    return CouponInput(**{**current, **changes})


def audit(session, action: str, coupon_id: int, **detail) -> None:
    """Record an API change to a coupon, with the token's name."""
    detail = {**detail, "api_token": g.get("api_token_name")}
    record_audit(session, None, action, utcnow(), target=("coupon", coupon_id), detail=detail)
