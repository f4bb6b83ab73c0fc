"""The counter screen, built for a tablet at the till: find a customer by name, member number
or a scanned member QR and give stamps with one tap; redeem a coupon by scanning it, typing its
code or picking it from the customer's list, with an undo for the same clerk; and a rotating QR
the customer scans with LINE's camera to earn a stamp themselves.

Every answer is a fragment swapped in by htmx; without htmx the same views answer with the whole
page around the fragment.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import segno
from flask import Blueprint, abort, g, render_template, request

from crm.clock import utcnow
from crm.customer_directory import CustomerFilter, search_customers
from crm.loyalty.counter import (
    TOKEN_LIFETIME,
    TokenRefused,
    find_member,
    make_token,
    read_token,
    token_url,
    token_user,
)
from crm.loyalty.coupons import (
    CODE_ALPHABET,
    CODE_LENGTH,
    UNDO_WINDOW,
    UNKNOWN_CODE,
    find_issued,
    last_redemption,
    normalise_code,
    why_unusable,
)
from crm.loyalty.models import IssuedCoupon
from crm.loyalty.programs import list_programs
from crm.models import Customer
from inbox.loyalty_actions import Notice, give_stamps, redeem_coupon, seconds_left, undo_coupon
from inbox.loyalty_summary import (
    coupon_line,
    ensure_default_program,
    loyalty_summary,
    member_numbers,
)
from inbox.loyalty_texts import NAMES, coupon_refusal
from inbox.security import login_required
from inbox.staff_actions import row_or_404
from request_scope import request_session, services

bp = Blueprint("inbox_counter", __name__, url_prefix="/inbox/counter")
QR_REFRESH = timedelta(seconds=20)
RESULTS_SHOWN = 12
MAX_STAMPS_PER_TAP = 3


@bp.context_processor
def _names() -> dict:
    return {"loyalty_names": NAMES, "max_stamps_per_tap": MAX_STAMPS_PER_TAP}


def _answer(template: str, **context):
    """The fragment for htmx, else the whole counter page with the fragment in it."""
    if request.headers.get("HX-Request"):
        return render_template(template, **context)
    return _page(template, context)


def _page(result_template: str | None, context: dict):
    ensure_default_program()
    return render_template(
        "inbox/loyalty/counter.html",
        result_template=result_template,
        **context,
        **_qr_context(None, 1, utcnow(), used=False),
    )


@bp.get("")
@login_required
def index():
    """The counter screen; ?customer=<id> opens that customer's card."""
    customer_id = request.args.get("customer", type=int)
    if customer_id is None:
        return _page(None, {})
    return _page("inbox/loyalty/_counter_card.html", _card_context(customer_id))


# ---------------------------------------------------------------- finding a customer or a code


@bp.get("/find")
@login_required
def find():
    """What was typed or scanned: a member number opens the card, a coupon code the coupon,
    a name lists the customers who have it. A scanned QR that is no member's is a coupon code."""
    text = request.args.get("q", "").strip()[:100]
    scanned = request.args.get("scanned") == "1"
    session = request_session()
    if not text:
        return _answer("inbox/loyalty/_counter_results.html", customers=[], numbers={}, text="")
    member = find_member(session, text)
    if member is not None:
        return _answer(
            "inbox/loyalty/_counter_card.html",
            **_card_context(member.id, via="member_qr" if scanned else "staff"),
        )
    issued = find_issued(session, text)
    if issued is not None:
        return _answer("inbox/loyalty/_counter_coupon.html", **_coupon_context(issued))
    if scanned:
        return _notice(Notice(False, coupon_refusal(UNKNOWN_CODE)))
    customers, _more = search_customers(session, CustomerFilter(search=text), limit=RESULTS_SHOWN)
    if not customers and _looks_like_code(text):
        return _notice(Notice(False, coupon_refusal(UNKNOWN_CODE)))
    numbers = member_numbers(session, [c.id for c in customers])
    return _answer(
        "inbox/loyalty/_counter_results.html", customers=customers, numbers=numbers, text=text
    )


def _looks_like_code(text: str) -> bool:
    code = normalise_code(text)
    return len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code)


def _notice(notice: Notice):
    return _answer("inbox/loyalty/_counter_notice.html", notice=notice)


# ---------------------------------------------------------------- a customer's card


def _card_context(customer_id: int, notice: Notice | None = None, via: str = "staff") -> dict:
    session = request_session()
    customer = row_or_404(session, Customer, customer_id)
    return {
        "customer": customer,
        "summary": loyalty_summary(session, customer.id, utcnow(), counter=True),
        "notice": notice,
        "via": via,
    }


@bp.get("/customers/<id:customer_id>")
@login_required
def card(customer_id: int):
    """One customer's cards and usable coupons, with the buttons to use them."""
    return _answer("inbox/loyalty/_counter_card.html", **_card_context(customer_id))


@bp.post("/customers/<id:customer_id>/stamps")
@login_required
def stamp(customer_id: int):
    """One tap: stamps on a card; a limit says why not."""
    count = request.form.get("count", 1, type=int)
    if not 1 <= count <= MAX_STAMPS_PER_TAP:
        abort(400)
    via = request.form.get("via", "staff")
    notice = give_stamps(customer_id, request.form.get("program_id", type=int), count, via)
    return _answer(
        "inbox/loyalty/_counter_card.html", **_card_context(customer_id, notice, via=via)
    )


# ---------------------------------------------------------------- coupons


def _coupon_context(issued: IssuedCoupon, notice: Notice | None = None) -> dict:
    """A looked-up coupon: its state, why it cannot be used, the clerk's own undo."""
    now = utcnow()
    line = coupon_line(issued, now)
    refusal = None if line.usable else coupon_refusal(why_unusable(issued, now))
    mine = last_redemption(request_session(), issued.id)
    if mine is not None and (mine.staff_id != g.staff.id or now - mine.occurred_at > UNDO_WINDOW):
        mine = None
    return {
        "line": line,
        "customer": request_session().get(Customer, issued.customer_id),
        "refusal": refusal,
        "undo": mine,
        "undo_seconds": seconds_left(mine.occurred_at + UNDO_WINDOW, now) if mine else 0,
        "notice": notice,
    }


@bp.post("/redeem")
@login_required
def redeem():
    """Use a coupon with one tap; the answer is the customer's card, or why not."""
    notice = redeem_coupon(request.form.get("code", "")[:100])
    if notice.customer_id is None:
        return _notice(notice)
    return _answer("inbox/loyalty/_counter_card.html", **_card_context(notice.customer_id, notice))


@bp.post("/redemptions/<id:entry_id>/undo")
@login_required
def undo(entry_id: int):
    """Take back a redemption this clerk made in the last few minutes."""
    notice = undo_coupon(entry_id)
    return _answer("inbox/loyalty/_counter_card.html", **_card_context(notice.customer_id, notice))


# ---------------------------------------------------------------- the rotating QR


def _qr_context(program_id: int | None, count: int, now: datetime, used: bool) -> dict:
    """A fresh counter token for the chosen program, drawn as an inline SVG."""
    settings = services().settings
    programs = list_programs(request_session(), active_only=True)
    program = next((p for p in programs if p.id == program_id), programs[0] if programs else None)
    if program is None:
        return {"qr": None, "qr_programs": programs}
    token, _info = make_token(settings.secret_key, program.id, count, now)
    url = token_url(settings.line_basic_id, token)
    svg = segno.make(url, error="m", micro=False).svg_inline(omitsize=True, border=4)
    return {
        "qr": {
            "svg": svg,
            "token": token,
            "url": url,
            "program": program,
            "count": count,
            "refresh_at": int((now + QR_REFRESH).timestamp() * 1000),
            "seconds": int(QR_REFRESH.total_seconds()),
            "used": used,
        },
        "qr_programs": programs,
    }


@bp.get("/qr")
@login_required
def qr():
    """Polled every few seconds: nothing (204) while the shown QR is fresh and unused, else a
    new one (at once after a customer used it)."""
    program_id = request.args.get("program_id", type=int)
    count = request.args.get("count", 1, type=int)
    if not 1 <= count <= MAX_STAMPS_PER_TAP:
        abort(400)
    now, used_by = utcnow(), None
    shown = _shown_token(request.args.get("token", ""), now)
    if shown is not None and shown.program_id == program_id and shown.count == count:
        used_by = token_user(request_session(), shown)
        fresh = now < shown.expires_at - TOKEN_LIFETIME + QR_REFRESH
        if fresh and used_by is None:
            return "", 204
    used = used_by is not None
    context = _qr_context(program_id, count, now, used)
    if used and context["qr"]:
        context["qr"]["used_by"] = request_session().get(Customer, used_by)
    return render_template("inbox/loyalty/_counter_qr.html", **context)


def _shown_token(text: str, now: datetime):
    try:
        return read_token(services().settings.secret_key, text, now) if text else None
    except TokenRefused:
        return None
