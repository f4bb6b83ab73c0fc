"""GET /qr/coupon/<code>.png and /qr/member/<signed>.png: the QR images on coupon and member
cards, which LINE and customers' phones fetch without signing in.

A coupon image exists only for a code that was issued (the code itself is 60 random bits); a
member image needs the number signed with the deployment's secret, so numbers cannot be walked
through. The images never change, so they are cached for a day.
"""

from __future__ import annotations

import io

import segno
from flask import Blueprint, Response, abort
from sqlalchemy import select

from crm.loyalty.cards import read_member_qr_token
from crm.loyalty.counter import member_qr_text
from crm.loyalty.models import IssuedCoupon, MemberCard
from request_scope import request_session, services

bp = Blueprint("qr", __name__, url_prefix="/qr")
MAX_AGE = 24 * 3600
SCALE = 12  # pixels per module: a coupon code's QR is about 350 px, within LINE's 1024


def qr_png(content: str) -> bytes:
    """The QR code of `content` as a PNG, black on white with the standard quiet zone."""
    buffer = io.BytesIO()
    segno.make(content, error="m", micro=False).save(buffer, kind="png", scale=SCALE, border=4)
    return buffer.getvalue()


def _image(content: str) -> Response:
    response = Response(qr_png(content), mimetype="image/png")
    response.headers["Cache-Control"] = f"public, max-age={MAX_AGE}"
    return response


@bp.get("/coupon/<code>.png")
def coupon(code: str):
    """The QR of an issued coupon's code; 404 for a code that was never issued."""
    if not code.isascii() or not code.isalnum() or len(code) > 32:
        abort(404)
    found = request_session().scalar(select(IssuedCoupon.id).where(IssuedCoupon.code == code))
    if found is None:
        abort(404)
    return _image(code)


@bp.get("/member/<signed>.png")
def member(signed: str):
    """The QR of a member number, when the address carries our signature and the number exists."""
    number = read_member_qr_token(services().settings.secret_key, signed)
    if number is None:
        abort(404)
    found = request_session().scalar(select(MemberCard.number).where(MemberCard.number == number))
    if found is None:
        abort(404)
    return _image(member_qr_text(number))
