"""The loyalty domain on SQLite and PostgreSQL, with the clock passed in: every limit and expiry
rule, rollover and rewards, idempotency keys, revocation, coupons' limits and lottery,
redemption exactly once (also twenty at the same moment), undo, counter tokens, member numbers."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm.loyalty import counter, programs
from crm.loyalty.coupons import (
    ALREADY_UNDONE,
    ALREADY_USED,
    CUSTOMER_BLOCKED,
    EXPIRED,
    LIMIT_REACHED,
    LOTTERY_LOST,
    NOT_YET_VALID,
    REVOKED,
    SOLD_OUT,
    UNDO_OTHER_STAFF,
    UNDO_TOO_LATE,
    UNKNOWN_CODE,
    CouponError,
    CouponInput,
    CouponRefused,
    create_coupon,
    customer_coupons,
    expire_coupons,
    issue_coupon,
    normalise_code,
    redeem,
    revoke,
    shown_code,
    status_at,
    undo_redemption,
)
from crm.loyalty.models import (
    CARD_ACTIVE,
    CARD_COMPLETED,
    CARD_EXPIRED,
    COUPON_EXPIRED,
    COUPON_REDEEMED,
    COUPON_VALID,
    CouponEntry,
    IssuedCoupon,
    StampCard,
    StampEntry,
)
from crm.loyalty.programs import ProgramError, ProgramInput, create_program, default_program
from crm.loyalty.stamps import (
    ALREADY_REVOKED,
    DAILY_LIMIT,
    KEY_USED,
    TOO_SOON,
    StampRefused,
    card_view,
    expire_cards,
    give_starter_stamps,
    grant_stamps,
    revoke_grant,
)
from crm.models import BLOCKED, FOLLOWING, AuditEntry, Customer, Interaction, Staff

TOKYO = ZoneInfo("Asia/Tokyo")
NOON = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo
SECRET = "counter-secret-for-tests"


def _customer(session, n: int = 1, status: str = FOLLOWING) -> Customer:
    customer = Customer(line_user_id=f"U{n:032x}", display_name=f"客{n}", follow_status=status)
    session.add(customer)
    session.flush()
    return customer


def _staff(session, email: str) -> Staff:
    staff = Staff(email=email, display_name=email, password_hash="x", role="agent")
    session.add(staff)
    session.flush()
    return staff


def _grant(session, customer, program, now, count=1, **kwargs):
    kwargs.setdefault("via", "staff")
    return grant_stamps(session, customer, program, count, now, TOKYO, **kwargs)


def _coupon(session, **fields) -> object:
    fields.setdefault("title", "ランチ10%オフ")
    fields.setdefault("discount_type", "percent")
    fields.setdefault("discount_value", 10)
    return create_coupon(session, CouponInput(**fields))


def _program(session, **fields):
    fields.setdefault("name", "カフェ")
    return create_program(session, ProgramInput(**fields))


# ---------------------------------------------------------------- programs


def test_default_program_is_created_once_with_its_reward(db):
    with db.transaction() as session:
        first = default_program(session)
        again = default_program(session)
        assert first.id == again.id and first.is_default
        assert (first.stamps_needed, first.per_day_limit) == (10, 1)
        assert [(r.stamps, r.coupon.title) for r in first.rewards] == [(10, "ドリンク1杯無料")]
        assert programs.get_program(session, None).id == first.id


def test_only_one_program_is_the_default(db):
    with db.transaction() as session:
        old = default_program(session)
        new = _program(session)
        programs.make_default(session, new)
        session.refresh(old)
        assert new.is_default and not old.is_default
        assert default_program(session).id == new.id


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"name": ""}, "name"),
        ({"stamps_needed": 0}, "stamps_needed"),
        ({"stamps_needed": 51}, "stamps_needed"),
        ({"per_day_limit": 0}, "per_day_limit"),
        ({"starter_stamps": 10}, "starter_stamps"),
        ({"expiry_kind": "sometimes"}, "expiry_kind"),
        ({"expiry_kind": "from_last"}, "expiry_days"),
        ({"expiry_kind": "fixed"}, "expiry_date"),
        ({"rewards": {11: 1}}, "rewards.11"),
        ({"rewards": {5: 999}}, "rewards.5"),
    ],
)
def test_a_bad_program_names_its_field(db, fields, where):
    with db.transaction() as session:
        with pytest.raises(ProgramError) as refused:
            _program(session, **fields)
        assert refused.value.where == where


# ---------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("second", "allowed"),
    [
        (datetime(2026, 12, 1, 14, 59, tzinfo=UTC), False),  # 23:59 the same Tokyo day
        (datetime(2026, 12, 1, 15, 0, tzinfo=UTC), True),  # 00:00 the next Tokyo day
    ],
)
def test_one_stamp_a_day_counts_the_shops_calendar_day(db, second, allowed):
    with db.transaction() as session:
        customer, program = _customer(session), default_program(session)
        _grant(session, customer, program, datetime(2026, 12, 1, 0, 30, tzinfo=UTC))  # 9:30
        if allowed:
            assert _grant(session, customer, program, second).card.stamps == 2
        else:
            with pytest.raises(StampRefused) as refused:
                _grant(session, customer, program, second)
            assert refused.value.reason == DAILY_LIMIT


def test_a_daily_limit_of_three_takes_two_then_refuses_two_more(db):
    with db.transaction() as session:
        customer, program = _customer(session), _program(session, per_day_limit=3)
        _grant(session, customer, program, NOON, count=2)
        with pytest.raises(StampRefused):
            _grant(session, customer, program, NOON + timedelta(hours=1), count=2)
        assert _grant(session, customer, program, NOON + timedelta(hours=1)).card.stamps == 3


def test_a_revoked_stamp_no_longer_counts_against_the_day(db):
    with db.transaction() as session:
        customer, program = _customer(session), default_program(session)
        staff = _staff(session, "a@example.jp")
        first = _grant(session, customer, program, NOON)
        revoke_grant(session, first.entry.id, NOON, staff_id=staff.id, reason="押し間違い")
        assert _grant(session, customer, program, NOON + timedelta(minutes=1)).card.stamps == 1


def test_minimum_interval_between_stamps(db):
    with db.transaction() as session:
        customer = _customer(session)
        program = _program(session, per_day_limit=None, min_interval_minutes=60)
        _grant(session, customer, program, NOON)
        with pytest.raises(StampRefused) as refused:
            _grant(session, customer, program, NOON + timedelta(minutes=59))
        assert refused.value.reason == TOO_SOON
        assert _grant(session, customer, program, NOON + timedelta(minutes=60)).card.stamps == 2


# ---------------------------------------------------------------- cards and rewards


def test_ten_visits_fill_the_card_issue_the_reward_and_start_a_new_card(db):
    with db.transaction() as session:
        customer, program = _customer(session), default_program(session)
        results = [_grant(session, customer, program, NOON + timedelta(days=d)) for d in range(10)]
        last = results[-1]
        assert [r.entry.balance_after for r in results[:9]] == list(range(1, 10))
        assert [c.number for c in last.completed] == [1]
        assert last.card.number == 2 and last.card.stamps == 0
        assert [r.issued.coupon.title for r in last.rewards] == ["ドリンク1杯無料"]
        assert sum(len(r.rewards) for r in results) == 1
        first_card = session.get(StampCard, last.completed[0].id)
        assert first_card.status == CARD_COMPLETED and first_card.stamps == 10


def test_a_milestone_at_five_and_the_goal_at_ten_each_give_their_coupon(db):
    with db.transaction() as session:
        bonus, drink = _coupon(session, title="5個ボーナス"), _coupon(session, title="ドリンク")
        program = _program(session, per_day_limit=None, rewards={5: bonus.id, 10: drink.id})
        customer = _customer(session)
        at_five = _grant(session, customer, program, NOON, count=5)
        at_ten = _grant(session, customer, program, NOON, count=5)
        assert [r.issued.coupon_id for r in at_five.rewards] == [bonus.id]
        assert [r.issued.coupon_id for r in at_ten.rewards] == [drink.id]


def test_stamps_past_the_goal_carry_onto_the_next_card(db):
    with db.transaction() as session:
        drink = _coupon(session, title="ドリンク", per_customer_limit=10)
        program = _program(session, per_day_limit=None, stamps_needed=5, rewards={5: drink.id})
        customer = _customer(session)
        _grant(session, customer, program, NOON, count=4)
        result = _grant(session, customer, program, NOON, count=8)  # 4+8 = 5 + 5 + 2
        assert [c.number for c in result.completed] == [1, 2]
        assert (result.card.number, result.card.stamps) == (3, 2)
        assert len([r for r in result.rewards if r.issued]) == 2
        ledger = session.scalars(select(StampEntry).order_by(StampEntry.id)).all()
        assert [(e.kind, e.delta, e.balance_after) for e in ledger] == [
            ("grant", 4, 4),
            ("grant", 1, 5),
            ("carry", 5, 5),
            ("carry", 2, 2),
        ]


def test_starter_stamps_are_given_once(db):
    with db.transaction() as session:
        program = _program(session, starter_stamps=2)
        customer = _customer(session)
        assert len(give_starter_stamps(session, customer, NOON, TOKYO)) == 1
        assert give_starter_stamps(session, customer, NOON + timedelta(days=3), TOKYO) == []
        assert card_view(session, customer.id, program, NOON).stamps == 2


# ---------------------------------------------------------------- expiry


def test_stamps_expire_a_year_after_the_last_one(db):
    with db.transaction() as session:
        customer = _customer(session)
        program = _program(session, expiry_kind="from_last", expiry_days=365)
        _grant(session, customer, program, NOON)
        later = _grant(session, customer, program, NOON + timedelta(days=100))
        assert later.card.expires_at == NOON + timedelta(days=465)
        assert expire_cards(session, NOON + timedelta(days=464)) == 0
        assert expire_cards(session, NOON + timedelta(days=465)) == 1
        session.refresh(later.card)
        assert (later.card.status, later.card.stamps) == (CARD_EXPIRED, 0)
        entry = session.scalars(select(StampEntry).order_by(StampEntry.id.desc())).first()
        assert (entry.kind, entry.delta, entry.via) == ("expire", -2, "system")


def test_from_first_stamp_expiry_does_not_move_with_later_stamps(db):
    with db.transaction() as session:
        customer = _customer(session)
        program = _program(session, expiry_kind="from_first", expiry_days=30)
        _grant(session, customer, program, NOON)
        later = _grant(session, customer, program, NOON + timedelta(days=20))
        assert later.card.expires_at == NOON + timedelta(days=30)


def test_a_fixed_expiry_ends_with_that_day_in_tokyo(db):
    with db.transaction() as session:
        customer = _customer(session)
        program = _program(session, expiry_kind="fixed", expiry_date=date(2026, 12, 31))
        result = _grant(session, customer, program, NOON)
        assert result.card.expires_at == datetime(2026, 12, 31, 15, 0, tzinfo=UTC)


def test_a_stamp_after_expiry_starts_a_new_card_even_before_the_job_ran(db):
    with db.transaction() as session:
        customer = _customer(session)
        program = _program(session, expiry_kind="from_last", expiry_days=10)
        first = _grant(session, customer, program, NOON, count=1)
        again = _grant(session, customer, program, NOON + timedelta(days=11))
        assert (again.card.number, again.card.stamps) == (2, 1)
        session.refresh(first.card)
        assert first.card.status == CARD_EXPIRED


# ---------------------------------------------------------------- idempotency and revocation


def test_the_same_key_gives_the_same_grant_once(db):
    with db.transaction() as session:
        customer, program = _customer(session), default_program(session)
        first = _grant(session, customer, program, NOON, idempotency_key="pos-1")
        again = _grant(session, customer, program, NOON, idempotency_key="pos-1")
        assert again.replayed and again.entry.id == first.entry.id and again.card.stamps == 1
        other = _customer(session, 2)
        with pytest.raises(StampRefused) as refused:
            _grant(session, other, program, NOON, idempotency_key="pos-1")
        assert refused.value.reason == KEY_USED


def test_revoking_takes_the_stamps_back_once_with_a_reason_in_the_audit_log(db):
    with db.transaction() as session:
        customer, program = _customer(session), _program(session, per_day_limit=None)
        staff = _staff(session, "clerk@example.jp")
        grant = _grant(session, customer, program, NOON, count=3)
        with pytest.raises(StampRefused):
            revoke_grant(session, grant.entry.id, NOON, staff_id=staff.id, reason=" ")
        revoke_grant(session, grant.entry.id, NOON, staff_id=staff.id, reason="二重に押した")
        with pytest.raises(StampRefused) as again:
            revoke_grant(session, grant.entry.id, NOON, staff_id=staff.id, reason="もう一度")
        assert again.value.reason == ALREADY_REVOKED
        assert card_view(session, customer.id, program, NOON).stamps == 0
        audit = session.scalars(select(AuditEntry)).all()
        assert [(a.action, a.detail["reason"]) for a in audit] == [("stamp.revoke", "二重に押した")]
        timeline = session.scalars(select(Interaction.text).where(Interaction.direction == "event"))
        assert any("取り消し" in text for text in timeline)


# ---------------------------------------------------------------- coupons


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"title": ""}, "title"),
        ({"discount_type": "bogus"}, "discount_type"),
        ({"discount_type": "percent", "discount_value": 101}, "discount_value"),
        ({"discount_type": "amount", "discount_value": None}, "discount_value"),
        ({"image_url": "http://example.jp/a.png"}, "image_url"),
        ({"valid_until": NOON, "valid_days": 3}, "valid_days"),
        ({"valid_from": NOON, "valid_until": NOON}, "valid_until"),
        ({"valid_from": datetime(2026, 12, 1)}, "valid_from"),
        ({"per_customer_limit": 0}, "per_customer_limit"),
        ({"lottery_percent": 100}, "lottery_percent"),
        ({"total_limit": 0}, "total_limit"),
    ],
)
def test_a_bad_coupon_names_its_field(db, fields, where):
    with db.transaction() as session:
        with pytest.raises(CouponError) as refused:
            _coupon(session, **fields)
        assert refused.value.where == where


def test_one_per_customer_and_the_first_hundred_only(db):
    with db.transaction() as session:
        coupon = _coupon(session, total_limit=2)
        first, second, third = (_customer(session, n) for n in (1, 2, 3))
        assert issue_coupon(session, coupon, first, NOON, source="staff").issued
        assert issue_coupon(session, coupon, first, NOON, source="staff").refused == LIMIT_REACHED
        assert issue_coupon(session, coupon, second, NOON, source="staff").issued
        assert issue_coupon(session, coupon, third, NOON, source="staff").refused == SOLD_OUT
        session.refresh(coupon)
        assert coupon.issued_count == 2


def test_a_lottery_draw_uses_the_customers_chance_and_only_winners_count(db):
    with db.transaction() as session:
        coupon = _coupon(session, lottery_percent=30, total_limit=1)
        lucky, unlucky = _customer(session, 1), _customer(session, 2)
        lost = issue_coupon(session, coupon, unlucky, NOON, source="staff", draw=lambda: 30)
        won = issue_coupon(session, coupon, lucky, NOON, source="staff", draw=lambda: 29)
        assert lost.refused == LOTTERY_LOST and won.issued is not None
        again = issue_coupon(session, coupon, unlucky, NOON, source="staff", draw=lambda: 0)
        assert again.refused == LIMIT_REACHED  # one draw per customer
        assert [c.id for c in customer_coupons(session, unlucky.id)] == []
        kinds = session.scalars(select(CouponEntry.kind).order_by(CouponEntry.id)).all()
        assert kinds == ["lottery_lost", "issued"]


def test_a_thirty_percent_lottery_wins_about_thirty_percent(db):
    with db.transaction() as session:
        coupon = _coupon(session, lottery_percent=30)
        wins = sum(
            issue_coupon(session, coupon, _customer(session, n), NOON, source="api").issued
            is not None
            for n in range(400)
        )
        assert 80 <= wins <= 160  # 120 expected; outside this is far beyond 5 sigma


def test_no_coupon_for_a_customer_who_blocked_the_account(db):
    with db.transaction() as session:
        coupon, customer = _coupon(session), _customer(session, status=BLOCKED)
        assert issue_coupon(session, coupon, customer, NOON, source="staff").refused == (
            CUSTOMER_BLOCKED
        )


def test_codes_are_unique_unguessable_and_forgiving_to_type(db):
    with db.transaction() as session:
        coupon = _coupon(session, per_customer_limit=200)
        customer = _customer(session)
        codes = {
            issue_coupon(session, coupon, customer, NOON, source="api").issued.code
            for _ in range(200)
        }
        assert len(codes) == 200 and all(len(c) == 12 for c in codes)
        code = next(iter(codes))
        typed = shown_code(code).lower().replace("0", "o").replace("1", "l")
        full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in shown_code(code))
        assert normalise_code(typed) == code and normalise_code(full_width) == code


def test_redeeming_once_then_refused_with_the_reason(db):
    with db.transaction() as session:
        coupon, customer = _coupon(session, valid_days=30), _customer(session)
        issued = issue_coupon(session, coupon, customer, NOON, source="staff").issued
        assert issued.valid_until == NOON + timedelta(days=30)
        redeemed, entry = redeem(session, shown_code(issued.code), NOON, via="staff")
        assert redeemed.status == COUPON_REDEEMED and entry.kind == "redeemed"
        for code, reason in ((issued.code, ALREADY_USED), ("ZZZZ-ZZZZ-ZZZZ", UNKNOWN_CODE)):
            with pytest.raises(CouponRefused) as refused:
                redeem(session, code, NOON, via="staff")
            assert refused.value.reason == reason


def test_expired_not_yet_valid_and_revoked_codes_say_why(db):
    with db.transaction() as session:
        later = _coupon(session, valid_from=NOON + timedelta(days=1))
        short = _coupon(session, valid_days=1)
        withdrawn = _coupon(session)
        customer = _customer(session)
        codes = {
            NOT_YET_VALID: issue_coupon(session, later, customer, NOON, source="api").issued,
            EXPIRED: issue_coupon(session, short, customer, NOON, source="api").issued,
            REVOKED: issue_coupon(session, withdrawn, customer, NOON, source="api").issued,
        }
        revoke(session, codes[REVOKED], NOON, staff_id=None, reason="誤発行")
        at = NOON + timedelta(hours=25)
        for reason, issued in codes.items():
            with pytest.raises(CouponRefused) as refused:
                redeem(session, issued.code, at if reason == EXPIRED else NOON, via="staff")
            assert refused.value.reason == reason
        assert status_at(codes[EXPIRED], at) == COUPON_EXPIRED


def test_a_coupon_usable_twice_is_valid_after_the_first_use(db):
    with db.transaction() as session:
        coupon, customer = _coupon(session, usable_times=2), _customer(session)
        issued = issue_coupon(session, coupon, customer, NOON, source="api").issued
        assert redeem(session, issued.code, NOON, via="staff")[0].status == COUPON_VALID
        assert redeem(session, issued.code, NOON, via="staff")[0].status == COUPON_REDEEMED
        with pytest.raises(CouponRefused):
            redeem(session, issued.code, NOON, via="staff")


def test_undo_by_the_same_clerk_within_five_minutes_once(db):
    with db.transaction() as session:
        coupon, customer = _coupon(session), _customer(session)
        clerk, other = _staff(session, "a@example.jp"), _staff(session, "b@example.jp")
        issued = issue_coupon(session, coupon, customer, NOON, source="api").issued
        _, entry = redeem(session, issued.code, NOON, via="staff", staff_id=clerk.id)
        for staff_id, at, reason in (
            (other.id, NOON, UNDO_OTHER_STAFF),
            (clerk.id, NOON + timedelta(minutes=6), UNDO_TOO_LATE),
        ):
            with pytest.raises(CouponRefused) as refused:
                undo_redemption(session, entry.id, staff_id, at)
            assert refused.value.reason == reason
        assert undo_redemption(session, entry.id, clerk.id, NOON).status == COUPON_VALID
        with pytest.raises(CouponRefused) as twice:
            undo_redemption(session, entry.id, clerk.id, NOON)
        assert twice.value.reason == ALREADY_UNDONE
        assert redeem(session, issued.code, NOON, via="staff")[0].status == COUPON_REDEEMED


def test_expiry_is_recorded_in_the_ledger(db):
    with db.transaction() as session:
        coupon, customer = _coupon(session, valid_days=7), _customer(session)
        issued = issue_coupon(session, coupon, customer, NOON, source="api").issued
        assert expire_coupons(session, NOON + timedelta(days=6)) == 0
        assert expire_coupons(session, NOON + timedelta(days=7)) == 1
        assert expire_coupons(session, NOON + timedelta(days=8)) == 0
        session.refresh(issued)
        assert issued.status == COUPON_EXPIRED
        kinds = session.scalars(select(CouponEntry.kind).order_by(CouponEntry.id)).all()
        assert kinds == ["issued", "expired"]


# ---------------------------------------------------------------- races


def _at_once(count: int, work) -> list:
    """Run `work(i)` in `count` threads released together; their results or exceptions."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # the test reads what each thread met
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_twenty_simultaneous_redemptions_give_one_success(db):
    with db.transaction() as session:
        coupon, customer = _coupon(session), _customer(session)
        code = issue_coupon(session, coupon, customer, NOON, source="api").issued.code

    def attempt(_: int):
        with db.transaction() as session:
            return redeem(session, code, NOON, via="staff")[1].id

    results = _at_once(20, attempt)
    refusals = [r for r in results if isinstance(r, CouponRefused)]
    assert len(refusals) == 19 and {r.reason for r in refusals} == {ALREADY_USED}
    with db.read_session() as session:
        assert session.scalar(select(IssuedCoupon.uses)) == 1
        redeemed = select(func.count()).where(CouponEntry.kind == "redeemed")
        assert session.scalar(redeemed) == 1


def test_twenty_simultaneous_stamps_under_a_one_a_day_limit_give_one(db):
    with db.transaction() as session:
        customer_id = _customer(session).id
        program_id = default_program(session).id

    def attempt(i: int):
        with db.transaction() as session:
            customer = session.get(Customer, customer_id)
            program = programs.get_program(session, program_id)
            return _grant(session, customer, program, NOON, idempotency_key=f"tablet-{i}")

    results = _at_once(20, attempt)
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert {r.reason for r in results if isinstance(r, StampRefused)} == {DAILY_LIMIT}
    with db.read_session() as session:
        assert session.scalar(select(StampCard.stamps)) == 1


def test_twenty_simultaneous_requests_with_one_key_give_one_stamp(db):
    with db.transaction() as session:
        customer_id = _customer(session).id
        program_id = _program(session, per_day_limit=None).id

    def attempt(_: int):
        with db.transaction() as session:
            customer = session.get(Customer, customer_id)
            program = programs.get_program(session, program_id)
            return _grant(session, customer, program, NOON, idempotency_key="pos-42").entry.id

    results = _at_once(20, attempt)
    assert all(isinstance(r, int) for r in results) and len(set(results)) == 1
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(StampEntry)) == 1
        assert session.scalar(select(StampCard.stamps).where(StampCard.status == CARD_ACTIVE)) == 1


# ---------------------------------------------------------------- counter tokens, members


def test_a_counter_token_reads_back_until_it_expires():
    token, made = counter.make_token(SECRET, 7, 2, NOON)
    assert counter.find_token(f"スタンプをください {token}") == token
    read = counter.read_token(SECRET, token, NOON + timedelta(seconds=89))
    assert (read.program_id, read.count, read.nonce) == (7, 2, made.nonce)
    with pytest.raises(counter.TokenRefused) as late:
        counter.read_token(SECRET, token, NOON + counter.TOKEN_LIFETIME)
    assert late.value.reason == counter.TOKEN_EXPIRED


@pytest.mark.parametrize("change", ["other secret", "tampered", "garbage"])
def test_a_forged_counter_token_is_invalid(change):
    token, _ = counter.make_token(SECRET, 7, 1, NOON)
    forged = {
        "other secret": counter.make_token("another-shops-secret", 7, 1, NOON)[0],
        "tampered": token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB"),
        "garbage": "STAMP-" + "x" * 40,
    }[change]
    secret = SECRET
    with pytest.raises(counter.TokenRefused) as refused:
        counter.read_token(secret, forged, NOON)
    assert refused.value.reason == counter.TOKEN_INVALID


def test_a_counter_token_earns_one_stamp_once(db):
    token, _ = counter.make_token(SECRET, 1, 1, NOON)
    with db.transaction() as session:
        program = _program(session, per_day_limit=None)
        read = counter.read_token(SECRET, token, NOON)
        key = read.idempotency_key
        first, second = _customer(session, 1), _customer(session, 2)
        assert not counter.token_used(session, read)
        _grant(session, first, program, NOON, via="counter_qr", idempotency_key=key)
        assert counter.token_used(session, read)
        with pytest.raises(StampRefused) as refused:
            _grant(session, second, program, NOON, via="counter_qr", idempotency_key=key)
        assert refused.value.reason == KEY_USED


def test_member_numbers_are_stable_and_found_by_qr_or_typing(db):
    with db.transaction() as session:
        customer = _customer(session)
        number = counter.member_number(session, customer.id)
        assert number == counter.member_number(session, customer.id) and len(number) == 8
        for text in (counter.member_qr_text(number), number, f" m-{number} "):
            assert counter.find_member(session, text).id == customer.id
        assert counter.find_member(session, "M-00000000" if number != "00000000" else "1") is None
        assert counter.find_member(session, "hello") is None


def test_the_cafe_example_is_seeded_once_and_deletions_stick(db):
    from crm.loyalty.samples import seed_cafe_example
    from crm.loyalty.welcome import set_welcome_coupon, welcome_coupon_id

    with db.transaction() as session:
        assert seed_cafe_example(session)
        program = default_program(session)
        assert sorted((r.stamps, r.coupon.title) for r in program.rewards) == [
            (5, "次回ドリンク100円引き"),
            (10, "ドリンク1杯無料"),
        ]
        assert welcome_coupon_id(session) is not None
        set_welcome_coupon(session, None)
        assert not seed_cafe_example(session)
        assert welcome_coupon_id(session) is None
        customer = _customer(session)
        halfway = [_grant(session, customer, program, NOON + timedelta(days=d)) for d in range(5)]
        assert [r.issued.coupon.title for r in halfway[-1].rewards] == ["次回ドリンク100円引き"]
