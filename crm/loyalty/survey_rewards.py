"""A survey's reward: the coupon a customer gets for completing it (`flows.reward_coupon_id`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from crm.loyalty.coupons import issue_coupon
from crm.loyalty.models import Coupon, IssuedCoupon
from crm.models import Customer, Flow, FlowRun


def reward_coupon_id(session: Session, survey_id: int) -> int | None:
    """The coupon the survey gives on completion, if any."""
    survey = session.get(Flow, survey_id)
    return survey.reward_coupon_id if survey is not None else None


def coupon_exists(session: Session, coupon_id: int) -> bool:
    """Is there a coupon with this id (a survey can name only those)?"""
    return session.get(Coupon, coupon_id) is not None


def set_reward_coupon(session: Session, survey_id: int, coupon_id: int | None) -> None:
    """Name the survey's reward coupon (None: no reward); the caller checked the coupon exists."""
    session.get(Flow, survey_id).reward_coupon_id = coupon_id


def issue_survey_reward(session: Session, run: FlowRun, now: datetime) -> list[IssuedCoupon]:
    """The reward of a run that just completed: issued once per the coupon's limits, nothing
    when the survey names none or the coupon cannot be issued now."""
    coupon_id = reward_coupon_id(session, run.flow_id)
    coupon = session.get(Coupon, coupon_id) if coupon_id is not None else None
    if coupon is None:
        return []
    customer = session.get(Customer, run.customer_id)
    result = issue_coupon(session, coupon, customer, now, source="survey", source_id=run.flow_id)
    return [result.issued] if result.issued is not None else []
