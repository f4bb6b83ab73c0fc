"""The loyalty job (`loyalty_upkeep`): stamps and coupons expire on time and the ledgers say so;
reminders go out once per expiry, never to blocked or opted-out customers, and wait for quiet
hours to end. The clock is moved with time_machine; reminders reach the LINE sandbox over HTTP
through the outbox."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from crm.clock import utcnow
from crm.loyalty.coupons import CouponInput, create_coupon, issue_coupon, shown_code
from crm.loyalty.models import (
    CARD_ACTIVE,
    CARD_EXPIRED,
    COUPON_EXPIRED,
    COUPON_EXPIRY,
    EXPIRY_FIXED,
    EXPIRY_FROM_FIRST,
    EXPIRY_FROM_LAST,
    STAMP_EXPIRE,
    CouponEntry,
    IssuedCoupon,
    StampCard,
    StampEntry,
    StampProgram,
)
from crm.loyalty.programs import ProgramInput, create_program
from crm.loyalty.stamps import grant_stamps
from crm.models import BLOCKED, Customer, Interaction
from scheduler import jobs
from scheduler.jobs import loyalty_upkeep
from scheduler.runner import JOBS
from tests import sandbox_admin as sb

TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo, outside quiet hours


def day(n: float) -> datetime:
    return START + timedelta(days=n)


def make_program(db, **fields) -> int:
    with db.transaction() as session:
        program = create_program(session, ProgramInput(name=fields.pop("name", "ランチ"), **fields))
        return program.id


def grant(db, customer_id: int, program_id: int, at: datetime, count: int = 1) -> None:
    with time_machine.travel(at, tick=False), db.transaction() as session:
        program = session.get(StampProgram, program_id)
        customer = session.get(Customer, customer_id)
        grant_stamps(session, customer, program, count, utcnow(), TOKYO, via="staff")


def give_coupon(db, customer_id: int, at: datetime, **fields) -> int:
    """A new coupon issued to the customer at `at`; returns the issued code's id."""
    with time_machine.travel(at, tick=False), db.transaction() as session:
        data = CouponInput(title=fields.pop("title", "10%オフ"), discount_type="other", **fields)
        coupon = create_coupon(session, data)
        result = issue_coupon(
            session, coupon, session.get(Customer, customer_id), utcnow(), source="staff"
        )
        return result.issued.id


def upkeep(services, at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        loyalty_upkeep(services)


def pushed(db, line, customer_id: int) -> list[dict]:
    """The messages the customer received from the sandbox (pushes)."""
    with db.read_session() as session:
        user_id = session.get(Customer, customer_id).line_user_id
    return [d["message"] for d in sb.delivered(line, user_id) if d["via"] == "push"]


def texts_of(messages: list[dict]) -> list[str]:
    return [m["text"] for m in messages if m["type"] == "text"]


def card_of(db, customer_id: int) -> StampCard:
    with db.read_session() as session:
        return session.scalars(
            select(StampCard).where(StampCard.customer_id == customer_id).order_by(StampCard.id)
        ).first()


def test_the_job_runs_every_minute():
    assert JOBS["loyalty_upkeep"].run is loyalty_upkeep
    assert JOBS["loyalty_upkeep"].seconds == 60


# Expiry --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "still_valid", "expired"),
    [
        # 30 days after the latest stamp (day 10): day 40.
        ({"expiry_kind": EXPIRY_FROM_LAST, "expiry_days": 30}, day(39.9), day(40)),
        # 30 days after the card's first stamp (day 0), whatever came later.
        ({"expiry_kind": EXPIRY_FROM_FIRST, "expiry_days": 30}, day(29.9), day(30)),
        # At the end of 20 April in Tokyo: 2026-04-20 15:00 UTC.
        (
            {"expiry_kind": EXPIRY_FIXED, "expiry_date": date(2026, 4, 20)},
            datetime(2026, 4, 20, 14, 59, tzinfo=UTC),
            datetime(2026, 4, 20, 15, 0, tzinfo=UTC),
        ),
    ],
    ids=["from-last", "from-first", "fixed-date"],
)
def test_stamps_expire_by_the_programs_rule_and_the_ledger_says_so(
    db, services, customers, rule, still_valid, expired
):
    (customer,) = customers(1)
    program = make_program(db, **rule)
    grant(db, customer, program, day(0))
    grant(db, customer, program, day(10))
    upkeep(services, still_valid)
    assert card_of(db, customer).status == CARD_ACTIVE
    upkeep(services, expired)
    card = card_of(db, customer)
    assert (card.status, card.stamps) == (CARD_EXPIRED, 0)
    with db.read_session() as session:
        entries = session.scalars(
            select(StampEntry).where(StampEntry.card_id == card.id).order_by(StampEntry.id)
        ).all()
    assert [(e.kind, e.delta, e.balance_after) for e in entries][-1] == (STAMP_EXPIRE, -2, 0)
    assert (entries[-1].via, entries[-1].occurred_at) == ("system", expired)
    upkeep(services, expired + timedelta(minutes=1))  # nothing more to record
    with db.read_session() as session:
        assert session.scalar(select(func.count()).where(StampEntry.kind == STAMP_EXPIRE)) == 1


def test_a_coupon_expires_at_the_end_of_its_validity_and_the_ledger_says_so(
    db, services, customers
):
    (customer,) = customers(1)
    issued_id = give_coupon(db, customer, day(0), valid_days=7)
    upkeep(services, day(6.9))
    upkeep(services, day(7))
    with db.read_session() as session:
        assert session.get(IssuedCoupon, issued_id).status == COUPON_EXPIRED
        entries = session.scalars(
            select(CouponEntry).where(CouponEntry.issued_coupon_id == issued_id)
        ).all()
    assert [e.kind for e in entries] == ["issued", COUPON_EXPIRY]
    assert (entries[-1].via, entries[-1].occurred_at) == ("system", day(7))


def test_many_expiries_are_recorded_a_batch_at_a_time_until_none_is_left(
    db, services, customers, monkeypatch
):
    monkeypatch.setattr(jobs, "BATCH", 2)
    customers = customers(5)
    program = make_program(db, expiry_kind=EXPIRY_FROM_LAST, expiry_days=5)
    for customer in customers:
        grant(db, customer, program, day(0))
        give_coupon(db, customer, day(0), valid_days=5)
    upkeep(services, day(6))
    with db.read_session() as session:
        assert session.scalar(select(func.count()).where(StampCard.status == CARD_ACTIVE)) == 0
        assert session.scalar(select(func.count()).where(IssuedCoupon.status == "valid")) == 0
        assert session.scalar(select(func.count()).where(StampEntry.kind == STAMP_EXPIRE)) == 5
        assert session.scalar(select(func.count()).where(CouponEntry.kind == COUPON_EXPIRY)) == 5


# Reminders -----------------------------------------------------------------------------------


def test_a_stamp_reminder_goes_once_before_each_expiry(db, services, customers, line, work):
    (customer,) = customers(1)
    program = make_program(
        db, name="ランチカード", expiry_kind=EXPIRY_FROM_LAST, expiry_days=30, remind_days_before=3
    )
    grant(db, customer, program, day(0))
    grant(db, customer, program, day(1))  # expires on day 31, 12:00 Tokyo
    upkeep(services, day(27.9))  # more than three days ahead: not yet
    work()
    assert pushed(db, line, customer) == []
    upkeep(services, day(28))
    upkeep(services, day(28))  # the same minute again
    upkeep(services, day(29))  # and a day later
    work()
    expected = (
        "「ランチカード」のスタンプ2個の有効期限は2026年5月2日 11:59です。"
        "期限を過ぎるとスタンプは失効します。ご来店をお待ちしています！"
    )
    got = pushed(db, line, customer)
    assert texts_of(got) == [expected]
    assert [m["type"] for m in got] == ["text", "flex"]  # the card as it stands follows
    assert "ランチカード 2/10" in got[1]["altText"]
    with db.read_session() as session:
        row = session.scalar(select(Interaction).where(Interaction.sender == "bot"))
        assert row.delivery_status == "sent" and row.text.startswith(expected)
    # A new stamp moves the expiry: the new one earns its own reminder.
    grant(db, customer, program, day(30))
    upkeep(services, day(56.9))
    upkeep(services, day(57))
    upkeep(services, day(58))
    work()
    got = texts_of(pushed(db, line, customer))
    assert len(got) == 2 and "スタンプ3個" in got[1] and "2026年5月31日 11:59" in got[1]


def test_a_coupon_reminder_goes_once_with_the_coupon_itself(db, services, customers, line, work):
    (customer,) = customers(1)
    issued_id = give_coupon(
        db, customer, day(0), title="ランチ10%オフ", valid_days=10, remind_days_before=2
    )
    for moment in (day(7.9), day(8), day(8), day(9)):
        upkeep(services, moment)
    work()
    messages = pushed(db, line, customer)
    assert texts_of(messages)[0] == (
        "クーポン「ランチ10%オフ」の有効期限は2026年4月11日 11:59です。お早めにご利用ください。"
    )
    with db.read_session() as session:
        code = session.get(IssuedCoupon, issued_id).code
    assert len(messages) == 2  # the reminder, then the coupon with its code
    assert shown_code(code) in json.dumps(messages[1], ensure_ascii=False)


def test_no_reminder_for_blocked_or_opted_out_customers(db, services, customers, line, work):
    friend, blocked, opted_out = customers(3)
    program = make_program(db, expiry_kind=EXPIRY_FROM_LAST, expiry_days=10, remind_days_before=5)
    codes = {}
    for customer in (friend, blocked, opted_out):
        grant(db, customer, program, day(0))
        codes[customer] = give_coupon(db, customer, day(0), valid_days=10, remind_days_before=5)
    with db.transaction() as session:  # since then, one blocked the account, one opted out
        session.get(Customer, blocked).follow_status = BLOCKED
        session.get(Customer, opted_out).marketing_consent = False
    upkeep(services, day(6))
    work()
    assert len(pushed(db, line, friend)) == 4  # each reminder, then the card and the coupon
    assert pushed(db, line, blocked) == [] and pushed(db, line, opted_out) == []
    with db.read_session() as session:
        for customer in (blocked, opted_out):
            assert card_of(db, customer).reminded_at is None  # heard of if they come back
            assert session.get(IssuedCoupon, codes[customer]).reminded_at is None


def test_reminders_wait_for_quiet_hours_to_end_and_then_go(db, services, customers, line, work):
    (customer,) = customers(1)
    program = make_program(db, expiry_kind=EXPIRY_FROM_LAST, expiry_days=10, remind_days_before=3)
    grant(db, customer, program, day(0))
    give_coupon(db, customer, day(0), valid_days=10, remind_days_before=3)
    night = day(7) + timedelta(hours=10)  # 22:00 in Tokyo, within the three days
    upkeep(services, night)
    upkeep(services, night + timedelta(hours=10))  # 08:00: still quiet
    work()
    assert pushed(db, line, customer) == []
    assert card_of(db, customer).reminded_at is None
    morning = day(8) - timedelta(hours=3) + timedelta(minutes=1)  # 09:01 in Tokyo
    upkeep(services, morning)
    upkeep(services, morning + timedelta(minutes=1))
    work()
    assert len(texts_of(pushed(db, line, customer))) == 2
    assert card_of(db, customer).reminded_at == morning
