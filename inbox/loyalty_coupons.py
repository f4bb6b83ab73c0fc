"""Coupon templates (admins): the list, the editor (every field of a coupon, validity as shop
days or N days from issue), and issuing a coupon to chosen customers with one result each."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from crm.clock import utcnow
from crm.customer_directory import CustomerFilter, search_customers
from crm.loyalty.coupons import (
    CouponError,
    change_coupon,
    create_coupon,
    issue_to_customers,
    list_coupons,
    shown_code,
)
from crm.loyalty.models import DISCOUNT_TYPES, Coupon
from crm.loyalty.notify import push_coupons
from crm.models import Customer
from inbox.i18n import shop_zone
from inbox.loyalty_forms import (
    VALIDITY_MODES,
    CouponFields,
    coupon_fields_from_form,
    coupon_fields_of,
    coupon_input,
    customer_ids_from,
)
from inbox.loyalty_summary import refresh_reads
from inbox.loyalty_texts import NAMES, issue_refusal
from inbox.security import admin_required
from inbox.staff_actions import row_or_404, staff_change
from request_scope import request_session, services

bp = Blueprint("inbox_loyalty_coupons", __name__, url_prefix="/inbox/loyalty/coupons")
MAX_RECIPIENTS = 500
CANDIDATES_SHOWN = 30


@bp.context_processor
def _names() -> dict:
    return {"loyalty_names": NAMES}


@bp.get("")
@admin_required
def index():
    return render_template("inbox/loyalty/coupons.html", coupons=list_coupons(request_session()))


def _editor(fields: CouponFields, coupon=None, problem=None, status=200):
    return (
        render_template(
            "inbox/loyalty/coupon_form.html",
            coupon=coupon,
            fields=fields,
            discount_types=DISCOUNT_TYPES,
            validity_modes=VALIDITY_MODES,
            problem=problem,
        ),
        status,
    )


@bp.get("/new")
@admin_required
def new():
    return _editor(CouponFields())


@bp.post("/new")
@admin_required
def create():
    fields = coupon_fields_from_form(request.form)
    try:
        with staff_change("loyalty.coupon.create", detail={"title": fields.title}) as (tx, d):
            d["coupon"] = create_coupon(tx, coupon_input(fields, shop_zone())).id
    except CouponError as exc:
        return _editor(fields, problem=exc, status=422)
    flash(_("Coupon saved."), "ok")
    return redirect(url_for("inbox_loyalty_coupons.index"))


@bp.get("/<id:coupon_id>")
@admin_required
def edit(coupon_id: int):
    coupon = request_session().get(Coupon, coupon_id) or abort(404)
    return _editor(coupon_fields_of(coupon, shop_zone()), coupon)


@bp.post("/<id:coupon_id>")
@admin_required
def update(coupon_id: int):
    fields = coupon_fields_from_form(request.form)
    try:
        with staff_change("loyalty.coupon.edit", ("coupon", coupon_id)) as (tx, _d):
            coupon = row_or_404(tx, Coupon, coupon_id)
            change_coupon(tx, coupon, coupon_input(fields, shop_zone(), kept=coupon))
    except CouponError as exc:
        coupon = request_session().get(Coupon, coupon_id)
        return _editor(fields, coupon, problem=exc, status=422)
    flash(_("Coupon saved. Codes already issued keep their validity."), "ok")
    return redirect(url_for("inbox_loyalty_coupons.index"))


# ---------------------------------------------------------------- issuing to chosen customers


def _chosen(ids: list[int]) -> list[Customer]:
    if not ids:
        return []
    rows = request_session().scalars(select(Customer).where(Customer.id.in_(ids)))
    by_id = {c.id: c for c in rows}
    return [by_id[i] for i in ids if i in by_id]


@bp.get("/<id:coupon_id>/issue")
@admin_required
def issue_form(coupon_id: int):
    """Pick customers by name (or paste ids from the customers list) to give them the coupon."""
    coupon = request_session().get(Coupon, coupon_id) or abort(404)
    return render_template(
        "inbox/loyalty/coupon_issue.html",
        coupon=coupon,
        chosen=_chosen(customer_ids_from(request.args)),
        candidates=[],
        results=None,
    )


@bp.get("/<id:coupon_id>/issue/candidates")
@admin_required
def candidates(coupon_id: int):
    """Customers whose name matches, after the ones already ticked (htmx)."""
    chosen = _chosen(customer_ids_from(request.args))
    text = request.args.get("q", "").strip()[:100]
    found = []
    if text:
        found, _more = search_customers(
            request_session(), CustomerFilter(search=text), limit=CANDIDATES_SHOWN
        )
    ticked = {c.id for c in chosen}
    return render_template(
        "inbox/loyalty/_issue_candidates.html",
        chosen=chosen,
        candidates=[c for c in found if c.id not in ticked],
        text=text,
    )


@bp.post("/<id:coupon_id>/issue")
@admin_required
def issue(coupon_id: int):
    """Issue to every chosen customer and send each their code in LINE; one result each."""
    ids = customer_ids_from(request.form)
    if not ids or len(ids) > MAX_RECIPIENTS:
        flash(_("Choose 1 to %(count)s customers.", count=MAX_RECIPIENTS), "error")
        return redirect(url_for("inbox_loyalty_coupons.issue_form", coupon_id=coupon_id))
    now, base_url = utcnow(), services().settings.public_base_url
    with staff_change("loyalty.coupon.issue", ("coupon", coupon_id)) as (tx, detail):
        coupon = row_or_404(tx, Coupon, coupon_id)
        results = issue_to_customers(tx, coupon, ids, now, source="staff", staff_id=g.staff.id)
        for result in results:
            if result.issued is not None:
                customer = tx.get(Customer, result.customer_id)
                push_coupons(tx, customer, [result.issued], now, base_url)
        rows = [_result_row(tx, result) for result in results]
        detail.update(customers=len(ids), issued=sum(1 for r in rows if r["code"]))
    refresh_reads()
    return render_template(
        "inbox/loyalty/coupon_issue.html",
        coupon=request_session().get(Coupon, coupon_id),
        chosen=[],
        candidates=[],
        results=rows,
    )


def _result_row(session, result) -> dict:
    customer = session.get(Customer, result.customer_id)
    return {
        "customer_id": result.customer_id,
        "name": customer.display_name if customer else None,
        "exists": customer is not None,
        "code": shown_code(result.issued.code) if result.issued else None,
        "why": issue_refusal(result.refused) if result.refused else None,
    }
