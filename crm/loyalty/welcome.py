"""The welcome coupon: what a new friend gets on their first follow, with the programs' starter
stamps. The shop names one coupon (or none) in its `loyalty` setting."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crm.loyalty.coupons import IssueResult, issue_coupon
from crm.loyalty.models import Coupon
from crm.loyalty.stamps import GrantResult, give_starter_stamps
from crm.models import Customer
from crm.shop_settings import read_setting, write_setting

SETTING_KEY = "loyalty"


class UnknownCoupon(ValueError):
    """No coupon has this id."""


def welcome_coupon_id(session: Session) -> int | None:
    """The coupon a new friend gets, if the shop chose one."""
    value = (read_setting(session, SETTING_KEY) or {}).get("welcome_coupon_id")
    return value if isinstance(value, int) else None


def set_welcome_coupon(session: Session, coupon_id: int | None) -> None:
    """Choose the welcome coupon (None: no welcome coupon); other loyalty settings are kept."""
    if coupon_id is not None and session.get(Coupon, coupon_id) is None:
        raise UnknownCoupon(coupon_id)
    current = dict(read_setting(session, SETTING_KEY) or {})
    current["welcome_coupon_id"] = coupon_id
    write_setting(session, SETTING_KEY, current)


def welcome_gifts(
    session: Session, customer: Customer, now: datetime, tz: ZoneInfo
) -> tuple[list[GrantResult], IssueResult | None]:
    """On a first follow: the starter stamps of every program that gives them, and the welcome
    coupon. Starter stamps are keyed per customer and the coupon has its per-customer limit, so a
    repeated call gives nothing twice."""
    starters = give_starter_stamps(session, customer, now, tz)
    coupon_id = welcome_coupon_id(session)
    coupon = session.get(Coupon, coupon_id) if coupon_id is not None else None
    if coupon is None:
        return starters, None
    return starters, issue_coupon(session, coupon, customer, now, source="follow")
