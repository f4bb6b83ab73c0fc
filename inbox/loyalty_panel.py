"""The loyalty part of the customer panel (beside a chat and on the customer page): the cards,
coupons and member number, and the forms to give stamps, take them back with a reason, and issue
a coupon. Agents may do all of it; every change is audited."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for

from crm.clock import utcnow
from crm.loyalty.coupons import list_coupons
from crm.loyalty.models import StampEntry
from crm.models import Customer
from inbox.loyalty_actions import Notice, give_coupon, give_stamps, revoke_stamps
from inbox.loyalty_summary import ensure_default_program, loyalty_summary
from inbox.loyalty_texts import NAMES
from inbox.security import login_required
from inbox.staff_actions import row_or_404
from request_scope import request_session

bp = Blueprint("inbox_loyalty_panel", __name__, url_prefix="/inbox/loyalty/customers")


def loyalty_panel_context(customer: Customer) -> dict:
    """Template values for inbox/loyalty/_panel.html."""
    ensure_default_program()
    session = request_session()
    return {
        "loyalty": loyalty_summary(session, customer.id, utcnow()),
        "loyalty_coupons": list_coupons(session, active_only=True),
        "loyalty_names": NAMES,
    }


def _back(customer_id: int, notice: Notice):
    """Back to the chat or customer page the form was sent from, with the outcome."""
    flash(notice.text, "ok" if notice.ok else "error")
    target = request.form.get("next", "")
    if target.startswith("/inbox/") and "//" not in target:
        return redirect(target)
    return redirect(url_for("inbox_customers.show", customer_id=customer_id))


@bp.post("/<id:customer_id>/stamps")
@login_required
def add_stamps(customer_id: int):
    """Give stamps on one program's card."""
    count = request.form.get("count", 1, type=int)
    program_id = request.form.get("program_id", type=int)
    return _back(customer_id, give_stamps(customer_id, program_id, count, "staff"))


@bp.post("/<id:customer_id>/stamps/<id:entry_id>/revoke")
@login_required
def revoke(customer_id: int, entry_id: int):
    """Take back a grant with a reason (kept in the ledger and the audit log)."""
    entry = row_or_404(request_session(), StampEntry, entry_id)
    if entry.customer_id != customer_id:
        abort(404)
    return _back(customer_id, revoke_stamps(entry_id, request.form.get("reason", "")[:500]))


@bp.post("/<id:customer_id>/coupons")
@login_required
def issue(customer_id: int):
    """Give the customer a coupon; it is sent to them in LINE."""
    coupon_id = request.form.get("coupon_id", type=int)
    return _back(customer_id, give_coupon(customer_id, coupon_id))
