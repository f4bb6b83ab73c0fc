"""Staff's loyalty changes, shared by the counter screen and the customer panel: give stamps,
take them back, redeem a coupon and undo it, issue a coupon. Each runs in one transaction with
its audit entry and the customer's notice (queued in the outbox), and answers with a Notice: what
happened or why not, in the staff's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, g
from flask_babel import gettext as _

from crm.clock import utcnow
from crm.loyalty.coupons import (
    UNDO_WINDOW,
    UNKNOWN_CODE,
    CouponRefused,
    find_issued,
    issue_coupon,
    normalise_code,
    redeem,
    shown_code,
    undo_redemption,
)
from crm.loyalty.models import Coupon, CouponEntry
from crm.loyalty.notify import push_coupons, push_grant
from crm.loyalty.programs import get_program
from crm.loyalty.stamps import StampRefused, grant_stamps, revoke_grant
from crm.models import Customer
from inbox.i18n import shop_zone
from inbox.loyalty_summary import refresh_reads
from inbox.loyalty_texts import coupon_refusal, issue_refusal, stamp_refusal
from inbox.staff_actions import row_or_404, staff_change
from request_scope import request_session, services

STAFF_VIAS = ("staff", "member_qr")


@dataclass(frozen=True)
class Notice:
    """The outcome staff read; `undo_entry_id` offers the undo of a redemption until
    `undo_until`."""

    ok: bool
    text: str
    customer_id: int | None = None
    undo_entry_id: int | None = None
    undo_until: datetime | None = None

    @property
    def undo_seconds_left(self) -> int:
        return seconds_left(self.undo_until, utcnow()) if self.undo_until else 0


def seconds_left(until: datetime, now: datetime) -> int:
    """Whole seconds from now until `until` (0 once past): the undo button's countdown."""
    return max(0, int((until - now).total_seconds()))


class Refused(Exception):
    """Leaves the transaction (nothing is written, no audit entry) with the sentence to show."""

    def __init__(self, text: str, customer_id: int | None = None):
        super().__init__(text)
        self.text = text
        self.customer_id = customer_id


def give_stamps(customer_id: int, program_id: int | None, count: int, via: str) -> Notice:
    """Stamps from staff (the panel, the counter, a scanned member QR), then the card to the
    customer in LINE."""
    via = via if via in STAFF_VIAS else "staff"
    now = utcnow()
    detail = {"count": count, "via": via}
    try:
        with staff_change("stamp.grant", ("customer", customer_id), detail) as (tx, detail):
            customer = row_or_404(tx, Customer, customer_id)
            program = get_program(tx, program_id) or abort(404)
            try:
                result = grant_stamps(
                    tx, customer, program, count, now, shop_zone(), via=via, staff_id=g.staff.id
                )
            except StampRefused as exc:
                raise Refused(stamp_refusal(exc, program.per_day_limit), customer_id) from exc
            push_grant(tx, customer, result, now, services().settings.public_base_url)
            detail.update(program=program.id, entry=result.entry.id, stamps=result.card.stamps)
            text = _granted_text(program.name, result)
    except Refused as refused:
        return Notice(False, refused.text, customer_id)
    refresh_reads()
    return Notice(True, text, customer_id)


def _granted_text(program_name: str, result) -> str:
    rewards = [r.issued.coupon.title for r in result.rewards if r.issued is not None]
    if result.completed:
        text = _("Card complete! %(program)s starts again on a new card.", program=program_name)
    else:
        text = _(
            "Stamp given: %(stamps)s of %(goal)s.",
            stamps=result.card.stamps,
            goal=result.card.program.stamps_needed,
        )
    if rewards:
        text += " " + _("Reward sent in LINE: %(titles)s", titles="、".join(rewards))
    return text


def revoke_stamps(entry_id: int, reason: str) -> Notice:
    """Take back a grant, with the reason (revoke_grant writes the audit entry)."""
    try:
        with services().db.transaction() as tx:
            entry = revoke_grant(tx, entry_id, utcnow(), staff_id=g.staff.id, reason=reason)
            customer_id, taken = entry.customer_id, -entry.delta
    except StampRefused as exc:
        return Notice(False, stamp_refusal(exc, None))
    refresh_reads()
    return Notice(True, _("%(count)s stamps taken back.", count=taken), customer_id)


def redeem_coupon(code: str) -> Notice:
    """Use a coupon code once; a second try, from any tablet, is refused by the database."""
    found = find_issued(request_session(), code)
    if found is None:
        return Notice(False, coupon_refusal(UNKNOWN_CODE))
    customer_id, now = found.customer_id, utcnow()
    detail = {"code": normalise_code(code), "issued_coupon": found.id}
    try:
        with staff_change("coupon.redeem", ("customer", customer_id), detail) as (tx, detail):
            try:
                issued, entry = redeem(tx, code, now, via="staff", staff_id=g.staff.id)
            except CouponRefused as exc:
                raise Refused(coupon_refusal(exc.reason), customer_id) from exc
            detail["entry"] = entry_id = entry.id
            title = issued.coupon.title
    except Refused as refused:
        return Notice(False, refused.text, customer_id)
    refresh_reads()
    text = _("Coupon used: %(title)s (%(code)s).", title=title, code=shown_code(found.code))
    return Notice(True, text, customer_id, entry_id, now + UNDO_WINDOW)


def undo_coupon(entry_id: int) -> Notice:
    """Take back a redemption made by the same clerk a few minutes ago."""
    entry = row_or_404(request_session(), CouponEntry, entry_id)
    customer_id = entry.customer_id
    detail = {"entry": entry_id, "issued_coupon": entry.issued_coupon_id}
    try:
        with staff_change("coupon.undo", ("customer", customer_id), detail) as (tx, _detail):
            try:
                issued = undo_redemption(tx, entry_id, g.staff.id, utcnow())
            except CouponRefused as exc:
                raise Refused(coupon_refusal(exc.reason), customer_id) from exc
            title = issued.coupon.title
    except Refused as refused:
        return Notice(False, refused.text, customer_id)
    refresh_reads()
    return Notice(True, _("Redemption undone: %(title)s is valid again.", title=title), customer_id)


def give_coupon(customer_id: int, coupon_id: int | None) -> Notice:
    """Issue one coupon to one customer and send it in LINE; a refusal says why."""
    now = utcnow()
    with staff_change("coupon.issue", ("customer", customer_id), {"coupon": coupon_id}) as (
        tx,
        detail,
    ):
        customer = row_or_404(tx, Customer, customer_id)
        coupon = row_or_404(tx, Coupon, coupon_id)
        result = issue_coupon(tx, coupon, customer, now, source="staff", staff_id=g.staff.id)
        if result.issued is not None:
            push_coupons(tx, customer, [result.issued], now, services().settings.public_base_url)
            detail["issued_coupon"] = result.issued.id
        detail["refused"] = result.refused
        title = coupon.title
    refresh_reads()
    if result.refused:
        text = _("Not issued: %(why)s.", why=issue_refusal(result.refused))
        return Notice(False, text, customer_id)
    return Notice(True, _("Coupon sent in LINE: %(title)s.", title=title), customer_id)
