"""What staff read about stamps and coupons: the domain's codes (refusals, states, ways a stamp
came) as sentences in their language."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.loyalty import coupons, stamps
from inbox.i18n import local_datetime

STAMP_REFUSALS = {
    stamps.PROGRAM_INACTIVE: _l("This stamp card is switched off."),
    stamps.BAD_COUNT: _l("Give 1 to 50 stamps at a time."),
    stamps.NOT_A_GRANT: _l("Only stamps that were given can be taken back."),
    stamps.ALREADY_REVOKED: _l("These stamps were already taken back."),
    stamps.KEY_USED: _l("This QR code was already used by another customer."),
    stamps.CARD_CLOSED: _l("That card is already completed or expired; its stamps stay."),
    "reason_required": _l("Write why the stamps are taken back."),
}
COUPON_REFUSALS = {
    coupons.UNKNOWN_CODE: _l("Unknown coupon code. Check the code and try again."),
    coupons.ALREADY_USED: _l("This coupon was already used."),
    coupons.NOT_YET_VALID: _l("This coupon cannot be used yet."),
    coupons.EXPIRED: _l("This coupon has expired."),
    coupons.REVOKED: _l("This coupon was withdrawn and cannot be used."),
    coupons.UNDO_TOO_LATE: _l("Too late to undo: a redemption can be undone for 5 minutes."),
    coupons.UNDO_OTHER_STAFF: _l("Only the staff member who redeemed it can undo it."),
    coupons.ALREADY_UNDONE: _l("This redemption was already undone."),
}
ISSUE_REFUSALS = {
    coupons.LIMIT_REACHED: _l("already has as many as one customer may get"),
    coupons.SOLD_OUT: _l("all coupons are given out (total limit)"),
    coupons.LOTTERY_LOST: _l("lottery: not won this time"),
    coupons.CUSTOMER_BLOCKED: _l("blocked the account"),
    coupons.COUPON_INACTIVE: _l("the coupon is switched off"),
    coupons.COUPON_ENDED: _l("the coupon's validity has ended"),
    coupons.UNKNOWN_CUSTOMER: _l("no such customer"),
}
COUPON_STATES = {
    "valid": _l("Valid"),
    "redeemed": _l("Used"),
    "expired": _l("Expired"),
    "revoked": _l("Withdrawn"),
    "not_yet_valid": _l("Not yet valid"),
}
VIAS = {
    "staff": _l("by staff"),
    "counter_qr": _l("counter QR"),
    "member_qr": _l("member QR"),
    "api": _l("API"),
    "follow": _l("on follow"),
    "system": _l("system"),
}
LEDGER_KINDS = {
    "grant": _l("Given"),
    "starter": _l("Starter stamps"),
    "revoke": _l("Taken back"),
    "expire": _l("Expired"),
    "carry": _l("Carried to a new card"),
}
EXPIRY_KINDS = {
    "none": _l("Never"),
    "from_last": _l("N days after the latest stamp"),
    "from_first": _l("N days after the card's first stamp"),
    "fixed": _l("On a fixed date"),
}
DISCOUNT_TYPES = {
    "amount": _l("Amount off (yen)"),
    "percent": _l("Percent off"),
    "free_item": _l("Free item"),
    "other": _l("Other"),
}
NAMES = {
    "coupon_states": COUPON_STATES,
    "vias": VIAS,
    "ledger_kinds": LEDGER_KINDS,
    "expiry_kinds": EXPIRY_KINDS,
    "discount_types": DISCOUNT_TYPES,
    "issue_refusals": ISSUE_REFUSALS,
}


def stamp_refusal(exc: stamps.StampRefused, per_day_limit: int | None) -> str:
    """Why a grant or a revocation was refused, in a sentence."""
    if exc.reason == stamps.DAILY_LIMIT:
        return _("Today's limit is reached: at most %(limit)s a day.", limit=per_day_limit)
    if exc.reason == stamps.TOO_SOON:
        try:
            allowed = local_datetime(datetime.fromisoformat(exc.detail), "short")
        except ValueError:
            allowed = "?"
        return _("Too soon after the last stamp: the next one from %(time)s.", time=allowed)
    return str(STAMP_REFUSALS.get(exc.reason, exc.reason))


def coupon_refusal(reason: str) -> str:
    """Why a redemption or an undo was refused, in a sentence."""
    return str(COUPON_REFUSALS.get(reason, reason))


def issue_refusal(reason: str) -> str:
    """Why a customer got no code, as a phrase for a list of results."""
    return str(ISSUE_REFUSALS.get(reason, reason))


# The timeline's loyalty lines (crm/loyalty/timeline.py: LINES), in the staff member's language.
EVENT_LINES = {
    ("stamp", "grant"): _l("Stamps +%(count)s (%(program)s)"),
    ("stamp", "revoke"): _l("Stamps taken back -%(count)s (%(reason)s)"),
    ("stamp", "expire"): _l("Stamps expired -%(count)s (%(program)s)"),
    ("coupon", "issued"): _l("Coupon issued: %(title)s"),
    ("coupon", "redeemed"): _l("Coupon used: %(title)s"),
    ("coupon", "redemption_undone"): _l("Coupon use undone: %(title)s"),
    ("coupon", "revoked"): _l("Coupon withdrawn: %(title)s (%(reason)s)"),
}


def event_line(item) -> str:
    """A loyalty event of the timeline as a line in the staff member's language (its stored
    Japanese text when the event or a fact it names is unknown)."""
    facts = item.payload or {}
    wording = EVENT_LINES.get((item.kind, facts.get("event")))
    if wording is None:
        return item.text or ""
    try:
        return str(wording) % facts
    except (KeyError, TypeError, ValueError):
        return item.text or ""
