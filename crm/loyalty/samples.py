"""The café example, for `make run`: the default stamp card with a bonus coupon at five stamps
and a free drink at ten, and a welcome coupon for new friends. Seeded once (a shop setting
remembers it), so what staff change or delete afterwards stays changed."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm.loyalty.coupons import CouponInput, create_coupon
from crm.loyalty.models import StampReward
from crm.loyalty.programs import default_program
from crm.loyalty.welcome import set_welcome_coupon, welcome_coupon_id
from crm.shop_settings import read_setting, write_setting

SAMPLE_SEEDED = "loyalty_sample_seeded"

BONUS = CouponInput(
    title="次回ドリンク100円引き",
    description="スタンプ5個のボーナスです。次回のご来店でお使いください。",
    discount_type="amount",
    discount_value=100,
    valid_days=60,
    per_customer_limit=100,
    remind_days_before=7,
)
WELCOME = CouponInput(
    title="ランチ10%OFF",
    description="平日11時〜14時のランチメニューに使えます。",
    discount_type="percent",
    discount_value=10,
    valid_days=30,
    per_customer_limit=1,
    remind_days_before=3,
)


def seed_cafe_example(session: Session) -> bool:
    """Seed the example once; True when it was seeded now."""
    if read_setting(session, SAMPLE_SEEDED):
        return False
    program = default_program(session)
    if all(reward.stamps != 5 for reward in program.rewards):
        bonus = create_coupon(session, BONUS)
        program.rewards.append(StampReward(stamps=5, coupon_id=bonus.id))
    if welcome_coupon_id(session) is None:
        set_welcome_coupon(session, create_coupon(session, WELCOME).id)
    write_setting(session, SAMPLE_SEEDED, {"seeded": True})
    session.flush()
    return True
