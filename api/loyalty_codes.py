"""Coupon codes through /api/v1: issued to customers (each code pushed to its customer in
LINE), redeemed exactly once at a counter or a POS, and listed per customer."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, jsonify
from sqlalchemy import select

from api.loyalty_coupons import audit
from api.loyalty_errors import redemption_error
from api.loyalty_schemas import (
    REPLAYED_HEADER,
    CustomerCoupon,
    CustomerCouponPage,
    Issued,
    IssueIn,
    IssueResults,
    Redemption,
    RedemptionIn,
    Refused,
)
from api.schemas import Error, PageQuery
from api.spec import operation
from crm.clock import utcnow
from crm.loyalty.coupons import (
    CouponRefused,
    IssueResult,
    issue_to_customers,
    redeem,
    shown_code,
    status_at,
)
from crm.loyalty.models import COUPON_LOST, IssuedCoupon
from crm.loyalty.models import Coupon as CouponRow
from crm.loyalty.notify import push_coupons
from crm.models import AuditEntry, Customer
from request_scope import request_session, services

bp = Blueprint("loyalty_codes", __name__)
ISSUE_ACTION = "api.coupon_issued"
KEY_LIFETIME = timedelta(hours=24)  # how long an issue's idempotency key is remembered


@operation(
    bp,
    "/coupons/<id:coupon_id>/issue",
    "Issue the coupon to customers (at most 1000); each code is pushed to its customer in LINE",
    {
        200: (IssueResults, "a code or the reason why not, per customer"),
        404: (Error, "no such coupon"),
    },
    method="POST",
    body=IssueIn,
)
def issue(coupon_id: int, body: IssueIn):
    """Issue codes to the customers named, once per idempotency key, and push them."""
    settings = services().settings
    with services().db.transaction() as session:
        coupon = session.get(CouponRow, coupon_id, with_for_update=True) or abort(404)
        now = utcnow()
        earlier = earlier_issue(session, coupon.id, body.idempotency_key, now)
        if earlier is not None:
            answer, replayed = results_body(session, earlier), True
        else:
            results = issue_to_customers(session, coupon, body.customer_ids, now, source="api")
            for result in results:
                if result.issued is not None:
                    customer = session.get(Customer, result.customer_id)
                    push_coupons(session, customer, [result.issued], now, settings.public_base_url)
            kept = [[r.customer_id, r.issued.id if r.issued else None, r.refused] for r in results]
            audit(
                session, ISSUE_ACTION, coupon.id, idempotency_key=body.idempotency_key, results=kept
            )
            answer, replayed = issue_body(results), False
    response = jsonify(answer)
    if replayed:
        response.headers[REPLAYED_HEADER] = "true"
    return response


def earlier_issue(session, coupon_id: int, key: str | None, now) -> list | None:
    """What an issue with this key gave in the last KEY_LIFETIME, as kept in the audit log."""
    if key is None:
        return None
    entries = session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.occurred_at >= now - KEY_LIFETIME,
            AuditEntry.action == ISSUE_ACTION,
            AuditEntry.target_type == "coupon",
            AuditEntry.target_id == str(coupon_id),
        )
        .order_by(AuditEntry.id.desc())
    )
    for entry in entries:
        if entry.detail.get("idempotency_key") == key:
            return entry.detail["results"]
    return None


def issue_body(results: list[IssueResult]) -> dict:
    """One answer per customer: the code, or why not."""
    answers = []
    for result in results:
        if result.issued is None:
            answers.append(
                Refused(customer_id=result.customer_id, status="refused", reason=result.refused)
            )
            continue
        answers.append(
            Issued(
                customer_id=result.customer_id,
                status="issued",
                code=shown_code(result.issued.code),
                issued_coupon_id=result.issued.id,
                valid_until=result.issued.valid_until,
            )
        )
    return IssueResults(results=answers).model_dump(mode="json")


def results_body(session, kept: list) -> dict:
    """An earlier issue's answer again, from the rows it wrote."""
    results = [
        IssueResult(
            customer_id,
            issued=session.get(IssuedCoupon, issued_id) if issued_id else None,
            refused=reason,
        )
        for customer_id, issued_id, reason in kept
    ]
    return issue_body(results)


@operation(
    bp,
    "/coupon-redemptions",
    "Redeem a code (the counter, a POS): exactly once, however many try at the same moment",
    {
        200: (Redemption, "the coupon, redeemed"),
        404: (Error, "unknown_code"),
        409: (Error, "already_redeemed, not_yet_valid"),
        410: (Error, "expired, revoked"),
    },
    method="POST",
    body=RedemptionIn,
)
def redemption(body: RedemptionIn):
    """Use a code once: one conditional UPDATE decides."""
    with services().db.transaction() as session:
        try:
            issued, entry = redeem(session, body.code, utcnow(), via="api")
        except CouponRefused as exc:
            raise redemption_error(exc) from None
        answer = Redemption(
            id=issued.id,
            code=shown_code(issued.code),
            status=issued.status,
            coupon_id=issued.coupon_id,
            title=issued.coupon.title,
            customer_id=issued.customer_id,
            valid_until=issued.valid_until,
            uses=issued.uses,
            usable_times=issued.usable_times,
            redemption_id=entry.id,
        )
    return jsonify(answer.model_dump(mode="json"))


@operation(
    bp,
    "/customers/<id:customer_id>/coupons",
    "A customer's coupon codes, newest first, with their status now",
    {200: (CustomerCouponPage, "a page of codes"), 404: (Error, "no such customer")},
    query=PageQuery,
)
def customer_coupons(customer_id: int, query: PageQuery):
    """The customer's codes, newest first, with their status now."""
    session = request_session()
    session.get(Customer, customer_id) or abort(404)
    statement = select(IssuedCoupon).where(
        IssuedCoupon.customer_id == customer_id, IssuedCoupon.status != COUPON_LOST
    )
    if query.cursor is not None:
        statement = statement.where(IssuedCoupon.id < query.cursor)
    rows = session.scalars(statement.order_by(IssuedCoupon.id.desc()).limit(query.limit + 1)).all()
    page = rows[: query.limit]
    now = utcnow()
    items = [
        CustomerCoupon(
            id=row.id,
            code=shown_code(row.code),
            status=status_at(row, now),
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            title=row.coupon.title,
            coupon_id=row.coupon_id,
            issued_at=row.issued_at,
            redeemed_at=row.redeemed_at,
            uses=row.uses,
            usable_times=row.usable_times,
        )
        for row in page
    ]
    next_cursor = page[-1].id if len(rows) > query.limit else None
    return jsonify(CustomerCouponPage(items=items, next_cursor=next_cursor).model_dump(mode="json"))
