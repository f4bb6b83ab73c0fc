"""Loyalty refusals as /api/v1 answers: `{"error", "message", "parameter"?}`, where `error` is
the domain's own reason (`daily_limit`, `already_redeemed`) and `parameter`, on a 422, names
the field at fault."""

from __future__ import annotations

from flask import jsonify

from crm.loyalty import coupons as coupon_rules
from crm.loyalty import stamps as stamp_rules
from crm.loyalty.coupons import CouponRefused
from crm.loyalty.stamps import StampRefused

# StampRefused.reason → status, the field at fault, the message ({detail}: the domain's detail)
STAMP_REFUSALS = {
    stamp_rules.DAILY_LIMIT: (422, "count", "the program's stamps a day are given ({detail})"),
    stamp_rules.TOO_SOON: (422, "count", "too soon after the last stamp; next from {detail}"),
    stamp_rules.BAD_COUNT: (422, "count", "a whole number of stamps, {detail}"),
    stamp_rules.KEY_USED: (422, "idempotency_key", "{detail}"),
    stamp_rules.PROGRAM_INACTIVE: (422, "program_id", "the program is not active"),
    "reason_required": (422, "reason", "a reason is required"),
    stamp_rules.NOT_A_GRANT: (409, None, "only grants and starter stamps can be revoked"),
    stamp_rules.ALREADY_REVOKED: (409, None, "this grant is already revoked"),
    stamp_rules.CARD_CLOSED: (409, None, "the card has since been completed or has expired"),
}

# CouponRefused.reason → status, the message
REDEMPTION_REFUSALS = {
    coupon_rules.UNKNOWN_CODE: (404, "no coupon has this code"),
    coupon_rules.ALREADY_USED: (409, "this code is already used up"),
    coupon_rules.NOT_YET_VALID: (409, "this code is not valid yet"),
    coupon_rules.EXPIRED: (410, "this code has expired"),
    coupon_rules.REVOKED: (410, "this code was revoked"),
}


class LoyaltyError(Exception):
    """A refusal answered with `status`."""

    def __init__(self, status: int, error: str, message: str, parameter: str | None = None):
        super().__init__(message)
        self.status, self.error, self.message, self.parameter = status, error, message, parameter


def answer_loyalty_error(exc: LoyaltyError):
    """The JSON answer of a refusal."""
    body = {"error": exc.error, "message": exc.message}
    if exc.parameter:
        body["parameter"] = exc.parameter
    return jsonify(body), exc.status


def stamp_error(exc: StampRefused) -> LoyaltyError:
    """A grant or revocation refused, as its answer."""
    status, parameter, message = STAMP_REFUSALS.get(exc.reason, (409, None, exc.reason))
    return LoyaltyError(status, exc.reason, message.format(detail=exc.detail), parameter)


def redemption_error(exc: CouponRefused) -> LoyaltyError:
    """A redemption refused, as its answer (404, 409 or 410)."""
    status, message = REDEMPTION_REFUSALS.get(exc.reason, (409, exc.reason))
    return LoyaltyError(status, exc.reason, message)
