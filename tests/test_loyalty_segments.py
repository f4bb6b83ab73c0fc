"""Loyalty in segments and campaigns: the fields `stamps`, `stamp_visits_days`, `coupon_held`
and `coupon_redeemed` against a small shop (and their refusals naming the part at fault); a
campaign whose message is a coupon gives each recipient a code of their own, over HTTP to the
sandbox, with lottery, sold-out and limit cases, and crashes and retries that never issue twice."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

import crm.loyalty.coupons as coupons_module
from crm import delivery
from crm.campaigns import CampaignError, CampaignInput, campaign_counts, create_campaign
from crm.clock import utcnow
from crm.delivery import (
    claim_batches,
    defer_for_quiet_hours,
    finish_runs,
    record_batch,
    start_due_runs,
)
from crm.loyalty.coupons import (
    CouponInput,
    create_coupon,
    issue_coupon,
    redeem,
    shown_code,
    undo_redemption,
)
from crm.loyalty.models import (
    COUPON_ISSUED,
    COUPON_LOST,
    COUPON_LOTTERY_LOST,
    EXPIRY_FROM_LAST,
    Coupon,
    CouponEntry,
    IssuedCoupon,
)
from crm.loyalty.programs import ProgramInput, create_program, default_program
from crm.loyalty.stamps import grant_stamps, revoke_grant
from crm.models import Campaign, Customer, Interaction
from crm.politeness import Politeness
from crm.segments import SegmentError, count_matching, matching_customers
from tests import line_payloads as lp
from tests import sandbox_admin as sb

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 4, 15, 3, 0, tzinfo=UTC)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


# Segment fields ----------------------------------------------------------------------------


@pytest.fixture
def shop(db):
    """Four customers, the default card and a second card (expiring 30 days after the latest
    stamp), and two coupons:
    - 花子: 3 stamps on the default card (40, 20 and 2 days ago); holds ランチ; used ドリンク
      10 days ago;
    - 太郎: 1 default stamp (100 days ago); 2 stamps on the second card 61 and 60 days ago,
      expired by the clock; ドリンク ended by the clock; ランチ used 3 days ago, the use undone;
    - 次郎: 1 stamp on the second card 5 days ago; used ランチ 59 days ago;
    - 三郎: a stamp given yesterday and taken back."""
    with db.transaction() as session:
        people = {}
        for name in ("花子", "太郎", "次郎", "三郎"):
            customer = Customer(line_user_id=lp.new_user_id(), display_name=name)
            session.add(customer)
            session.flush()
            people[name] = customer
        default = default_program(session)
        second = create_program(
            session,
            ProgramInput(name="ディナー", expiry_kind=EXPIRY_FROM_LAST, expiry_days=30),
        )
        lunch = create_coupon(session, CouponInput("ランチ", "other", valid_days=90))
        drink = create_coupon(session, CouponInput("ドリンク", "other", valid_days=5))

        def stamp(name, program, days):
            return grant_stamps(session, people[name], program, 1, ago(days), TOKYO, via="staff")

        def give(name, coupon, days):
            return issue_coupon(session, coupon, people[name], ago(days), source="staff").issued

        for days in (40, 20, 2):
            stamp("花子", default, days)
        stamp("太郎", default, 100)
        stamp("太郎", second, 61)
        stamp("太郎", second, 60)
        stamp("次郎", second, 5)
        taken = stamp("三郎", default, 1)
        revoke_grant(session, taken.entry.id, ago(1), staff_id=None, reason="押し間違い")
        give("花子", lunch, 1)
        redeem(session, give("花子", drink, 12).code, ago(10), via="staff")
        give("太郎", drink, 20)
        _issued, use = redeem(session, give("太郎", lunch, 3).code, ago(3), via="staff")
        undo_redemption(session, use.id, None, ago(3) + timedelta(minutes=1))
        redeem(session, give("次郎", lunch, 60).code, ago(59), via="staff")
        return {"second": second.id, "lunch": lunch.id, "drink": drink.id}


def names(db, condition: dict) -> list[str]:
    with db.read_session() as session:
        tree = {"all": [condition]}
        found = sorted(c.display_name for c in matching_customers(session, tree, NOW))
        assert count_matching(session, tree, NOW) == len(found)
    return found


def _filled(value, ids: dict):
    """A case's value with "<lunch>" and customers replaced by the shop's ids."""
    if isinstance(value, str) and value.startswith("<"):
        return ids[value.strip("<>")]
    if isinstance(value, dict):
        return {key: _filled(item, ids) for key, item in value.items()}
    return value


@pytest.mark.parametrize(
    ("field", "op", "value", "expected"),
    [
        ("stamps", "gte", 1, ["太郎", "花子"]),
        ("stamps", "eq", 3, ["花子"]),
        ("stamps", "eq", 0, ["三郎", "次郎"]),  # no card, or its only stamp taken back
        ("stamps", "lt", 3, ["三郎", "太郎", "次郎"]),
        ("stamps", "ne", 1, ["三郎", "次郎", "花子"]),
        ("stamps:<second>", "gte", 1, ["次郎"]),  # 太郎's card there expired by the clock
        ("stamps:<second>", "lte", 0, ["三郎", "太郎", "花子"]),
        ("stamp_visits_days", "lt", 7, ["次郎", "花子"]),
        ("stamp_visits_days", "gt", 30, ["太郎"]),  # lapsed; never-visited not included
        ("stamp_visits_days", "between", [3, 1], ["花子"]),
        ("stamp_visits_days", "not_within", 7, ["三郎", "太郎"]),  # a revoked grant is no visit
        ("stamp_visits_days", "not_within", 90, ["三郎"]),
        ("coupon_held", "has", "any", ["太郎", "花子"]),  # 太郎's use was undone
        ("coupon_held", "has", "<lunch>", ["太郎", "花子"]),
        ("coupon_held", "has", "<drink>", []),  # used, or ended by the clock
        ("coupon_held", "not_has", "any", ["三郎", "次郎"]),
        ("coupon_redeemed", "has", "any", ["次郎", "花子"]),
        ("coupon_redeemed", "has", "<lunch>", ["次郎"]),
        ("coupon_redeemed", "not_has", "any", ["三郎", "太郎"]),
        ("coupon_redeemed", "within_days", {"coupon": "any", "days": 30}, ["花子"]),
        ("coupon_redeemed", "within_days", {"coupon": "<lunch>", "days": 60}, ["次郎"]),
        (
            "coupon_redeemed",
            "not_within_days",
            {"coupon": "<lunch>", "days": 30},
            ["三郎", "太郎", "次郎", "花子"],
        ),
    ],
)
def test_each_loyalty_field_and_operator(db, shop, field, op, value, expected):
    field = field.replace("<second>", str(shop["second"]))
    assert names(db, {"field": field, "op": op, "value": _filled(value, shop)}) == expected


def test_a_coupon_is_named_by_its_id_as_a_number_or_as_digits(db, shop):
    as_number = names(db, {"field": "coupon_held", "op": "has", "value": shop["lunch"]})
    assert as_number == names(
        db, {"field": "coupon_held", "op": "has", "value": str(shop["lunch"])}
    )


@pytest.mark.parametrize(
    ("condition", "where"),
    [
        ({"field": "stamps", "op": "has", "value": 1}, "op"),
        ({"field": "stamps", "op": "gte", "value": -1}, "value"),
        ({"field": "stamps", "op": "gte", "value": "3"}, "value"),
        ({"field": "stamps", "op": "gte", "value": True}, "value"),
        ({"field": "stamps", "op": "gte", "value": 2.5}, "value"),
        ({"field": "stamps:abc", "op": "gte", "value": 1}, "field"),
        ({"field": "stamps:99999", "op": "gte", "value": 1}, "field"),
        ({"field": "stamp_visits_days", "op": "eq", "value": 3}, "op"),
        ({"field": "stamp_visits_days", "op": "lt", "value": "x"}, "value"),
        ({"field": "stamp_visits_days", "op": "between", "value": [1]}, "value"),
        ({"field": "stamp_visits_days", "op": "not_within", "value": 40000}, "value"),
        ({"field": "coupon_held", "op": "eq", "value": "any"}, "op"),
        ({"field": "coupon_held", "op": "has", "value": "none"}, "value"),
        ({"field": "coupon_held", "op": "has", "value": 99999}, "value"),
        ({"field": "coupon_held", "op": "has", "value": None}, "value"),
        ({"field": "coupon_redeemed", "op": "within_days", "value": 5}, "value"),
        (
            {"field": "coupon_redeemed", "op": "within_days", "value": {"coupon": "any"}},
            "value.days",
        ),
        (
            {"field": "coupon_redeemed", "op": "within_days", "value": {"coupon": 9, "days": 1}},
            "value.coupon",
        ),
        ({"field": "coupon_redeemed", "op": "since", "value": "any"}, "op"),
    ],
)
def test_invalid_loyalty_conditions_name_the_part_at_fault(db, shop, condition, where):
    tree = {"any": [{"field": "tag", "op": "has", "value": "x"}, condition]}
    with db.read_session() as session, pytest.raises(SegmentError) as caught:
        count_matching(session, tree, NOW)
    assert caught.value.where == f"conditions.any[1].{where}"


def test_the_segment_builder_offers_the_loyalty_fields(admin_client, db, shop):
    page = admin_client.get("/inbox/segments/new").text
    for label in ("スタンプ数: スタンプカード", "スタンプ数: ディナー", "最後のスタンプ"):
        assert label in page
    assert "保有クーポン" in page and "クーポンの利用" in page


# A campaign with a coupon ------------------------------------------------------------------


def noon_tokyo() -> datetime:
    return datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)


def new_coupon(db, **fields) -> int:
    with db.transaction() as session:
        data = CouponInput(
            title=fields.pop("title", "春の10%オフ"), discount_type="other", **fields
        )
        return create_coupon(session, data).id


def schedule(db, coupon_id: int) -> int:
    messages = [
        {"type": "text", "text": "{name}さん、春のクーポンです"},
        {"type": "coupon", "coupon_id": coupon_id},
    ]
    with db.transaction() as session:
        data = CampaignInput(name="春のクーポン", messages=messages)
        return create_campaign(session, data, utcnow(), "Asia/Tokyo", schedule=True).id


def tick(db) -> None:
    rules = Politeness(quiet_enabled=False)
    with db.transaction() as session:
        start_due_runs(session, utcnow(), rules)
        defer_for_quiet_hours(session, utcnow(), rules)
        finish_runs(session, utcnow())


def send_all(sender) -> None:
    for _ in range(50):
        if not sender.send_round():
            return


def issued_codes(db, coupon_id: int) -> dict[int, list[IssuedCoupon]]:
    """Every draw of the coupon, by customer."""
    with db.read_session() as session:
        rows = session.scalars(select(IssuedCoupon).where(IssuedCoupon.coupon_id == coupon_id))
        found: dict[int, list[IssuedCoupon]] = {}
        for row in rows:
            found.setdefault(row.customer_id, []).append(row)
    return found


def pushed(db, line, customer_id: int) -> list[dict]:
    with db.read_session() as session:
        user_id = session.get(Customer, customer_id).line_user_id
    return [d["message"] for d in sb.delivered(line, user_id) if d["via"] == "push"]


def held_back(db, campaign_id: int) -> dict:
    with db.read_session() as session:
        return campaign_counts(session, campaign_id, utcnow())["held_back"]


def test_each_recipient_gets_a_code_of_their_own(db, line, customers, sender, api):
    ids = customers(3)
    coupon_id = new_coupon(db, valid_days=14)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db, coupon_id)
        tick(db)
        send_all(sender)
        tick(db)
    codes = issued_codes(db, coupon_id)
    assert sorted(codes) == sorted(ids) and all(len(rows) == 1 for rows in codes.values())
    assert len({rows[0].code for rows in codes.values()}) == 3
    assert {(r[0].source, r[0].source_id) for r in codes.values()} == {("campaign", campaign_id)}
    for number, customer_id in enumerate(ids):
        got = pushed(db, line, customer_id)
        assert got[0] == {"type": "text", "text": f"客{number}さん、春のクーポンです"}
        assert len(got) == 2 and got[1]["type"] != "coupon"
        assert shown_code(codes[customer_id][0].code) in json.dumps(got[1], ensure_ascii=False)
    with db.read_session() as session:
        kinds = session.scalars(select(CouponEntry.kind).where(CouponEntry.coupon_id == coupon_id))
        assert sorted(kinds) == [COUPON_ISSUED] * 3
        timeline = session.scalars(select(Interaction).where(Interaction.sender == "campaign"))
        assert {i.customer_id for i in timeline} == set(ids)
    body = api("GET", f"/campaigns/{campaign_id}").get_json()
    assert body["personalised"] is True
    assert (body["counts"]["sent"], body["status"]) == (3, "sent")


def test_a_big_audience_is_issued_a_small_batch_at_a_time(db, line, customers, sender, monkeypatch):
    monkeypatch.setattr(delivery, "COUPON_BATCH_SIZE", 2)
    ids = customers(5)
    coupon_id = new_coupon(db, valid_days=7)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db, coupon_id)
        tick(db)
        with db.transaction() as session:
            (job,) = claim_batches(session, utcnow(), batches=8)
        assert len(job.recipients) == 2 and len(issued_codes(db, coupon_id)) == 2
        with db.transaction() as session:
            record_batch(session, job, sender._send(job), utcnow())
        send_all(sender)
        tick(db)
    assert sorted(issued_codes(db, coupon_id)) == sorted(ids)
    assert all(len(pushed(db, line, customer_id)) == 2 for customer_id in ids)
    with db.read_session() as session:
        assert campaign_counts(session, campaign_id, utcnow())["sent"] == 5


def test_a_lottery_coupon_sends_the_code_to_winners_and_a_short_word_to_the_others(
    db, line, customers, sender, monkeypatch
):
    ids = customers(4)
    draws = itertools.cycle([10, 90])  # against a 50% chance: win, lose, win, lose
    monkeypatch.setattr(coupons_module, "_draw", lambda: next(draws))
    coupon_id = new_coupon(db, lottery_percent=50, valid_days=7)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db, coupon_id)
        tick(db)
        send_all(sender)
        tick(db)
    codes = issued_codes(db, coupon_id)
    winners = [c for c in ids if codes[c][0].code is not None]
    losers = [c for c in ids if codes[c][0].status == COUPON_LOST]
    assert len(winners) == 2 and len(losers) == 2
    for customer_id in winners:
        card = pushed(db, line, customer_id)[1]
        assert shown_code(codes[customer_id][0].code) in json.dumps(card, ensure_ascii=False)
    for customer_id in losers:
        assert pushed(db, line, customer_id)[1] == {
            "type": "text",
            "text": "残念、はずれでした。またの機会をお楽しみに！",
        }
    with db.read_session() as session:
        lost = session.scalar(
            select(func.count()).where(
                CouponEntry.coupon_id == coupon_id, CouponEntry.kind == COUPON_LOTTERY_LOST
            )
        )
        assert lost == 2
        assert campaign_counts(session, campaign_id, utcnow())["sent"] == 4


def test_once_sold_out_the_rest_are_held_back_and_get_nothing(db, line, customers, sender, api):
    ids = customers(4)
    coupon_id = new_coupon(db, total_limit=2, valid_days=7)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db, coupon_id)
        tick(db)
        send_all(sender)
        tick(db)
    codes = issued_codes(db, coupon_id)
    assert len(codes) == 2
    for customer_id in ids:
        assert len(pushed(db, line, customer_id)) == (2 if customer_id in codes else 0)
    assert held_back(db, campaign_id)["sold_out"] == 2
    body = api("GET", f"/campaigns/{campaign_id}").get_json()
    assert body["counts"]["held_back"]["sold_out"] == 2 and body["counts"]["sent"] == 2


def test_a_customer_who_already_holds_the_coupon_is_held_back(db, line, customers, sender):
    holder, other = customers(2)
    coupon_id = new_coupon(db, valid_days=7)  # one per customer
    with db.transaction() as session:
        coupon = session.get(Coupon, coupon_id)
        issue_coupon(session, coupon, session.get(Customer, holder), utcnow(), source="staff")
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db, coupon_id)
        tick(db)
        send_all(sender)
    assert pushed(db, line, holder) == [] and len(pushed(db, line, other)) == 2
    assert held_back(db, campaign_id)["coupon_limit"] == 1
    assert [len(rows) for rows in issued_codes(db, coupon_id).values()] == [1, 1]


def test_a_batch_claimed_again_after_a_crash_sends_the_same_codes(db, line, customers, sender):
    ids = customers(3)
    coupon_id = new_coupon(db, per_customer_limit=5, valid_days=7)  # a second code is allowed
    with time_machine.travel(noon_tokyo(), tick=True):
        schedule(db, coupon_id)
        tick(db)
        with db.transaction() as session:
            (job,) = claim_batches(session, utcnow(), batches=4)
        first = job.recipients[0]  # its push went out; then the sender died
        sender.line.push(first.line_user_id, job.messages_for(first), job.push_key(first))
        codes = {c: rows[0].code for c, rows in issued_codes(db, coupon_id).items()}
        assert sorted(codes) == sorted(ids)  # issued, and committed with the batch
    with time_machine.travel(noon_tokyo() + timedelta(minutes=1), tick=True):
        send_all(sender)  # the lease ran out: claimed again
        tick(db)
    statuses = [r["status"] for r in sb.api_requests(line) if r["path"].endswith("/push")]
    assert sorted(statuses) == [200, 200, 200, 409]
    again = issued_codes(db, coupon_id)
    assert {c: [r.code for r in rows] for c, rows in again.items()} == {
        c: [code] for c, code in codes.items()
    }
    for customer_id in ids:
        got = pushed(db, line, customer_id)
        assert len(got) == 2 and shown_code(codes[customer_id]) in json.dumps(got[1])


def test_a_push_retried_after_a_429_carries_the_same_code(db, line, customers, sender):
    (customer,) = customers(1)
    coupon_id = new_coupon(db, per_customer_limit=5, valid_days=7)
    sb.add_fault(line, endpoint="push", status=429)
    start = noon_tokyo()
    with time_machine.travel(start, tick=False):
        campaign_id = schedule(db, coupon_id)
        tick(db)
    for step in range(0, 30, 2):
        with time_machine.travel(start + timedelta(seconds=step), tick=False):
            send_all(sender)
    requests = [r for r in sb.api_requests(line) if r["path"].endswith("/push")]
    assert [r["status"] for r in requests] == [429, 200]
    (issued,) = issued_codes(db, coupon_id)[customer]
    assert shown_code(issued.code) in json.dumps(pushed(db, line, customer)[1])
    with db.read_session() as session:
        assert campaign_counts(session, campaign_id, utcnow())["sent"] == 1


@pytest.mark.parametrize(
    ("messages", "where"),
    [
        ([{"type": "coupon", "coupon_id": 99999}], "messages[0].coupon_id"),
        ([{"type": "coupon", "coupon_id": "<off>"}], "messages[0].coupon_id"),
        ([{"type": "coupon", "coupon_id": "1"}], "messages[0].coupon_id"),
        ([{"type": "coupon"}], "messages[0].coupon_id"),
        (
            [{"type": "coupon", "coupon_id": "<on>"}, {"type": "coupon", "coupon_id": "<on>"}],
            "messages[1].type",
        ),
    ],
)
def test_a_coupon_message_names_a_coupon_that_can_be_issued(db, messages, where):
    on = new_coupon(db)
    off = new_coupon(db, active=False)
    named = {"<on>": on, "<off>": off}
    messages = [
        {**m, "coupon_id": named[m["coupon_id"]]} if m.get("coupon_id") in named else m
        for m in messages
    ]
    with db.transaction() as session, pytest.raises(CampaignError) as error:
        create_campaign(session, CampaignInput(name="x", messages=messages), utcnow(), "Asia/Tokyo")
    assert error.value.where == where


def test_the_api_refuses_an_unknown_coupon_naming_the_field(api):
    body = {"name": "x", "messages": [{"type": "coupon", "coupon_id": 424242}]}
    answer = api("POST", "/campaigns", body)
    assert answer.status_code == 422
    assert answer.get_json()["parameter"] == "messages[0].coupon_id"


def test_the_inbox_form_offers_a_coupon_block(admin_client, db):
    coupon_id = new_coupon(db, title="ランチ100円引き")
    page = admin_client.get("/inbox/campaigns/new").text
    assert "ランチ100円引き" in page and "クーポン" in page
    form = {
        "name": "クーポン配布",
        "audience": "all",
        "when": "now",
        "m0_kind": "coupon",
        "m0_coupon": str(coupon_id),
        "csrf_token": admin_client.csrf,
    }
    response = admin_client.post("/inbox/campaigns/new", data=form)
    assert response.status_code == 302, response.text
    campaign_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    with db.read_session() as session:
        assert session.get(Campaign, campaign_id).messages == [
            {"type": "coupon", "coupon_id": coupon_id}
        ]
    edit = admin_client.get(f"/inbox/campaigns/{campaign_id}/edit").text
    assert f'<option value="{coupon_id}" selected>ランチ100円引き</option>' in edit
