"""Campaign delivery over real HTTP to the sandbox: runs, recipients, the politeness rules,
batches with retry keys, crashes at each point, retries, cancel and pause."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from bot.campaign_sending import CampaignSender
from crm.campaigns import (
    CampaignError,
    CampaignInput,
    campaign_counts,
    cancel_campaign,
    create_campaign,
    next_run_time,
    pause_campaign,
    resume_campaign,
)
from crm.clock import utcnow
from crm.delivery import (
    claim_batches,
    defer_for_quiet_hours,
    finish_runs,
    holdout_bucket,
    record_batch,
    start_due_runs,
)
from crm.interactions import queue_outbound
from crm.models import (
    BLOCKED,
    Campaign,
    CampaignBatch,
    CampaignRecipient,
    CampaignRun,
    Customer,
    Interaction,
    Topic,
)
from crm.politeness import Politeness, load_politeness, quiet_until, save_politeness
from crm.topics import create_topic, set_topic_subscription
from tests import sandbox_admin as sb

TOKYO = "Asia/Tokyo"
NO_QUIET = Politeness(quiet_enabled=False)
TEXT = [{"type": "text", "text": "本日のランチは唐揚げ定食です"}]


def noon_tokyo() -> datetime:
    """Today 12:00 in Tokyo (outside the default quiet hours), as UTC."""
    return datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)


def schedule(db, messages=TEXT, **fields) -> int:
    with db.transaction() as session:
        data = CampaignInput(name=fields.pop("name", "ランチ"), messages=messages, **fields)
        campaign = create_campaign(session, data, utcnow(), TOKYO, schedule=True)
        return campaign.id


def tick(db, rules: Politeness = NO_QUIET) -> list[int]:
    with db.transaction() as session:
        now = utcnow()
        started = start_due_runs(session, now, rules)
        defer_for_quiet_hours(session, now, rules)
        finish_runs(session, now)
        return started


def send_all(sender, rounds: int = 50) -> int:
    total = 0
    for _ in range(rounds):
        done = sender.send_round()
        if not done:
            break
        total += done
    return total


def counts(db, campaign_id: int) -> dict:
    with db.read_session() as session:
        return campaign_counts(session, campaign_id, utcnow())


def status(db, campaign_id: int) -> str:
    with db.read_session() as session:
        return session.get(Campaign, campaign_id).status


def line_ids(db, ids: list[int]) -> list[str]:
    with db.read_session() as session:
        rows = session.scalars(select(Customer.line_user_id).where(Customer.id.in_(ids)))
        return list(rows)


def received(line, user_id: str) -> list[dict]:
    return [d for d in sb.delivered(line, user_id) if d["via"] in ("multicast", "push")]


def assert_each_got(db, line, ids: list[int], times: int) -> None:
    """Every one of these customers received the campaign exactly `times` times."""
    for user_id in line_ids(db, ids):
        assert len(received(line, user_id)) == times, user_id


def test_campaign_reaches_every_friend_once_and_holds_back_the_rest(db, line, customers, sender):
    friends = customers(3)
    blocked = customers(1, name="ブロック", follow_status=BLOCKED)
    no_consent = customers(1, name="同意なし", marketing_consent=False)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db)
        assert tick(db)
        assert send_all(sender) == 3
        tick(db)
    for user_id in line_ids(db, friends):
        got = received(line, user_id)
        assert [d["message"]["text"] for d in got] == ["本日のランチは唐揚げ定食です"]
        assert got[0]["via"] == "multicast"
    for user_id in line_ids(db, blocked + no_consent):
        assert received(line, user_id) == []
    result = counts(db, campaign_id)
    assert result["recipients"] == 5 and result["sent"] == 3 and result["pending"] == 0
    assert result["held_back"]["blocked"] == 1 and result["held_back"]["no_consent"] == 1
    assert status(db, campaign_id) == "sent"
    with db.read_session() as session:
        timeline = session.scalars(
            select(Interaction).where(Interaction.sender == "campaign")
        ).all()
    assert sorted(i.customer_id for i in timeline) == sorted(friends)
    assert {i.campaign_id for i in timeline} == {campaign_id}
    assert {i.delivery_status for i in timeline} == {"sent"}


def test_a_message_naming_the_customer_is_pushed_to_each_with_their_name(
    db, line, customers, sender
):
    ids = customers(2, name="花子")
    messages = [{"type": "text", "text": "{name}さん、いつもありがとうございます"}]
    with time_machine.travel(noon_tokyo(), tick=True):
        schedule(db, messages=messages)
        tick(db)
        send_all(sender)
    for number, user_id in enumerate(line_ids(db, ids)):
        got = received(line, user_id)
        assert [d["via"] for d in got] == ["push"]
        assert got[0]["message"]["text"] == f"花子{number}さん、いつもありがとうございます"


def test_more_than_one_batch_goes_in_multicasts_of_at_most_500(db, line, customers, services):
    customers(7)
    pool = ThreadPoolExecutor(2)
    small = CampaignSender(services.db, services.line, pool, multicast_per_second=1000)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db)
        tick(db)
        with db.transaction() as session:
            jobs = claim_batches(session, utcnow(), batches=10, size=3)
        assert [len(job.recipients) for job in jobs] == [3, 3, 1]
        outcomes = [small._send(job) for job in jobs]
        with db.transaction() as session:
            for job, outcome in zip(jobs, outcomes, strict=True):
                record_batch(session, job, outcome, utcnow())
            finish_runs(session, utcnow())
    pool.shutdown()
    multicasts = [r for r in sb.api_requests(line) if r["path"].endswith("/multicast")]
    assert len(multicasts) == 3
    assert counts(db, campaign_id)["sent"] == 7
    assert status(db, campaign_id) == "sent"


def test_topic_opt_out_holds_back_and_is_checked_again_at_send_time(db, line, customers, sender):
    ids = customers(3)
    with db.transaction() as session:
        lunch = create_topic(session, "ランチ情報テスト")
        first = session.get(Customer, ids[0])
        set_topic_subscription(session, first, lunch, False, utcnow(), "staff")
        topic_id = lunch.id
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db, topic=topic_id)
        tick(db)
        # After the recipients were written, one more opts out and one blocks.
        with db.transaction() as session:
            topic = session.get(Topic, topic_id)
            second = session.get(Customer, ids[1])
            set_topic_subscription(session, second, topic, False, utcnow(), "chat")
            session.get(Customer, ids[2]).follow_status = BLOCKED
        send_all(sender)
    result = counts(db, campaign_id)
    assert result["sent"] == 0
    assert result["held_back"]["topic"] == 2 and result["held_back"]["blocked"] == 1
    for user_id in line_ids(db, ids):
        assert received(line, user_id) == []


def test_frequency_cap_holds_back_a_third_campaign_within_seven_days(db, line, customers, sender):
    ids = customers(2)
    rules = Politeness(quiet_enabled=False, cap_messages=2, cap_days=7)
    start = noon_tokyo()
    for day in range(3):
        with time_machine.travel(start + timedelta(days=day), tick=True):
            last = schedule(db, name=f"第{day + 1}弾")
            tick(db, rules)
            send_all(sender)
            tick(db, rules)
    assert counts(db, last)["held_back"]["frequency_cap"] == 2
    assert_each_got(db, line, ids, 2)
    # Eight days after the first, one of the two has left the window.
    with time_machine.travel(start + timedelta(days=8), tick=True):
        again = schedule(db, name="翌週")
        tick(db, rules)
        send_all(sender)
    assert counts(db, again)["sent"] == 2


def test_staff_replies_do_not_count_towards_the_cap(db, line, customers, sender):
    ids = customers(1)
    with db.transaction() as session:
        for _ in range(5):
            queue_outbound(
                session,
                session.get(Customer, ids[0]),
                messages=TEXT,
                sender="staff",
                now=utcnow(),
            )
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db)
        tick(db, Politeness(quiet_enabled=False, cap_messages=1))
        send_all(sender)
    assert counts(db, campaign_id)["sent"] == 1


def test_quiet_hours_defer_to_nine_in_the_morning_and_do_not_drop(db, line, customers, sender):
    ids = customers(2)
    rules = Politeness()  # 21:00–09:00 Tokyo
    late = noon_tokyo() + timedelta(hours=10)  # 22:00 Tokyo
    with time_machine.travel(late, tick=True):
        campaign_id = schedule(db)
        tick(db, rules)
        assert send_all(sender) == 0
        result = counts(db, campaign_id)
        assert result["deferred"] == 2 and result["sent"] == 0
        with db.read_session() as session:
            due = session.scalars(select(CampaignRun.not_before)).all()
            reasons = session.scalars(select(CampaignRecipient.reason)).all()
        nine = datetime(late.year, late.month, late.day, 0, 0, tzinfo=UTC) + timedelta(days=1)
        assert set(due) == {nine}  # 09:00 Tokyo is 00:00 UTC
        assert reasons == ["quiet_hours", "quiet_hours"]  # why they waited, kept
    with time_machine.travel(nine + timedelta(seconds=1), tick=True):
        send_all(sender)
        tick(db, rules)
    assert counts(db, campaign_id)["sent"] == 2
    assert status(db, campaign_id) == "sent"
    assert_each_got(db, line, ids, 1)


def test_a_run_still_going_when_quiet_hours_begin_waits_for_them_to_end(
    db, line, customers, sender
):
    ids = customers(3)
    evening = noon_tokyo() + timedelta(hours=8, minutes=59)  # 20:59 Tokyo
    with time_machine.travel(evening, tick=False):
        campaign_id = schedule(db)
        tick(db, Politeness())
        with db.transaction() as session:
            (job,) = claim_batches(session, utcnow(), batches=1, size=1)
        outcomes = sender._send(job)
        with db.transaction() as session:
            record_batch(session, job, outcomes, utcnow())
    with time_machine.travel(evening + timedelta(minutes=2), tick=False):  # 21:01
        tick(db, Politeness())
        assert send_all(sender) == 0
        result = counts(db, campaign_id)
        assert (result["sent"], result["deferred"]) == (1, 2)
    nine = evening + timedelta(hours=12, minutes=1)
    with time_machine.travel(nine, tick=False):
        assert send_all(sender) == 2
        tick(db, Politeness())
    assert counts(db, campaign_id)["sent"] == 3
    assert sum(len(received(line, u)) for u in line_ids(db, ids)) == 3


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("20:59", None),
        ("21:00", "09:00+1"),
        ("23:30", "09:00+1"),
        ("00:10", "09:00"),
        ("08:59", "09:00"),
        ("09:00", None),
    ],
)
def test_quiet_hours_window(local, expected):
    tokyo = ZoneInfo(TOKYO)
    hour, minute = map(int, local.split(":"))
    now = datetime(2026, 12, 4, hour, minute, tzinfo=tokyo).astimezone(UTC)
    until = quiet_until(Politeness(), now, TOKYO)
    if expected is None:
        assert until is None
        return
    day = 5 if expected.endswith("+1") else 4
    assert until == datetime(2026, 12, day, 9, 0, tzinfo=tokyo).astimezone(UTC)


def test_holdout_is_a_stable_control_group_recorded_and_never_sent(db, line, customers, sender):
    ids = customers(40)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db, holdout_percent=25)
        tick(db)
        send_all(sender)
    expected = {cid for cid in ids if holdout_bucket(cid, campaign_id) < 25}
    assert 0 < len(expected) < 40
    with db.read_session() as session:
        held = set(
            session.scalars(
                select(CampaignRecipient.customer_id).where(CampaignRecipient.reason == "holdout")
            )
        )
    assert held == expected
    assert counts(db, campaign_id)["sent"] == 40 - len(expected)
    for customer_id, user_id in zip(sorted(ids), line_ids(db, sorted(ids)), strict=True):
        assert len(received(line, user_id)) == (0 if customer_id in expected else 1)


def test_a_second_scheduler_never_starts_a_second_run(db, line, customers, sender):
    customers(3)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db)
        barrier = threading.Barrier(2)
        results = []

        def scheduler():
            barrier.wait()
            results.append(tick(db))

        threads = [threading.Thread(target=scheduler) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(len(r) for r in results) == [0, 1]
        # A restart that finds the campaign scheduled again for the same time: still one run.
        with db.transaction() as session:
            campaign = session.get(Campaign, campaign_id)
            run = session.scalar(select(CampaignRun))
            campaign.status, campaign.next_run_at = "scheduled", run.scheduled_for
        assert tick(db) == []
        send_all(sender)
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(CampaignRun)) == 1
    assert counts(db, campaign_id)["sent"] == 3


def _claim(db) -> list:
    with db.transaction() as session:
        return claim_batches(session, utcnow(), batches=4)


def test_sender_killed_before_calling_line_the_batch_goes_after_its_lease(
    db, line, customers, sender
):
    ids = customers(3)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db)
        tick(db)
        assert _claim(db)  # claimed and committed, then the process died
        assert sender.send_round() == 0  # leased: nobody else takes it yet
    with time_machine.travel(noon_tokyo() + timedelta(minutes=1), tick=True):
        assert send_all(sender) == 3
    assert counts(db, campaign_id)["sent"] == 3
    assert_each_got(db, line, ids, 1)


def test_sender_killed_after_line_accepted_the_resend_is_a_409_not_a_duplicate(
    db, line, customers, sender
):
    ids = customers(3)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db)
        tick(db)
        (job,) = _claim(db)
        first = sender._send(job)  # LINE took it; the process died before recording
        assert {o.result for o in first.values()} == {"sent"}
    with time_machine.travel(noon_tokyo() + timedelta(minutes=1), tick=True):
        assert send_all(sender) == 3
        tick(db)
    statuses = [r["status"] for r in sb.api_requests(line) if r["path"].endswith("/multicast")]
    assert statuses == [200, 409]
    assert counts(db, campaign_id)["sent"] == 3
    assert status(db, campaign_id) == "sent"
    assert_each_got(db, line, ids, 1)


def test_a_personalised_batch_resent_after_a_crash_reaches_nobody_twice(
    db, line, customers, sender
):
    ids = customers(3)
    with time_machine.travel(noon_tokyo(), tick=True):
        schedule(db, messages=[{"type": "text", "text": "{name}さんへ"}])
        tick(db)
        (job,) = _claim(db)
        sender.line.push(  # the first push went out before the crash
            job.recipients[0].line_user_id,
            job.messages_for(job.recipients[0]),
            job.push_key(job.recipients[0]),
        )
    with time_machine.travel(noon_tokyo() + timedelta(minutes=1), tick=True):
        send_all(sender)
    assert_each_got(db, line, ids, 1)


def test_a_429_storm_is_retried_with_the_same_key_until_it_passes(db, line, customers, sender):
    ids = customers(2)
    for _ in range(3):
        sb.add_fault(line, endpoint="multicast", status=429)
    start = noon_tokyo()
    with time_machine.travel(start, tick=False):
        campaign_id = schedule(db)
        tick(db)
    for step in range(0, 120, 5):
        with time_machine.travel(start + timedelta(seconds=step), tick=False):
            send_all(sender)
    tick(db)
    requests = [r for r in sb.api_requests(line) if r["path"].endswith("/multicast")]
    assert [r["status"] for r in requests] == [429, 429, 429, 200]
    assert len({r["retry_key"] for r in requests}) == 1
    assert counts(db, campaign_id)["sent"] == 2
    assert_each_got(db, line, ids, 1)


def test_a_refusal_is_recorded_with_lines_message(db, line, customers, sender):
    customers(2)
    sb.add_fault(line, endpoint="multicast", status=400, body={"message": "Invalid message"})
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db)
        tick(db)
        send_all(sender)
        tick(db)
    result = counts(db, campaign_id)
    assert result["failed"] == 2 and result["sent"] == 0
    with db.read_session() as session:
        errors = set(session.scalars(select(CampaignRecipient.error_message)))
    assert errors == {"Invalid message"}
    assert status(db, campaign_id) == "sent"


def test_cancel_mid_send_stops_the_rest(db, line, customers, sender):
    ids = customers(5)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db)
        tick(db)
        with db.transaction() as session:
            (job,) = claim_batches(session, utcnow(), batches=1, size=2)
        with db.transaction() as session:
            assert cancel_campaign(session, session.get(Campaign, campaign_id), utcnow()) == 3
        record = sender._send(job)
        with db.transaction() as session:
            record_batch(session, job, record, utcnow())
        assert send_all(sender) == 0
    result = counts(db, campaign_id)
    assert result["sent"] == 2 and result["cancelled"] == 3
    assert status(db, campaign_id) == "cancelled"
    assert sum(len(received(line, u)) for u in line_ids(db, ids)) == 2


def test_pause_mid_send_holds_the_rest_until_resumed(db, line, customers, sender):
    customers(4)
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db)
        tick(db)
        with db.transaction() as session:
            pause_campaign(session, session.get(Campaign, campaign_id))
        assert send_all(sender) == 0
        assert counts(db, campaign_id)["pending"] == 4
        with db.transaction() as session:
            resume_campaign(session, session.get(Campaign, campaign_id), utcnow())
        assert send_all(sender) == 4
        tick(db)
    assert status(db, campaign_id) == "sent"


def test_a_recurring_campaign_runs_every_friday_at_10_30_shop_time(db, line, customers, sender):
    customers(1)
    friday = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)  # Friday 10:30 in Tokyo
    with time_machine.travel(friday - timedelta(days=1), tick=True):
        campaign_id = schedule(db, recurrence="30 10 * * fri")
    with db.read_session() as session:
        assert session.get(Campaign, campaign_id).next_run_at == friday
    for week in range(2):
        with time_machine.travel(friday + timedelta(weeks=week, seconds=2), tick=True):
            assert tick(db)
            send_all(sender)
            tick(db)
            assert status(db, campaign_id) == "scheduled"
    with db.read_session() as session:
        runs = session.scalars(select(CampaignRun.scheduled_for).order_by(CampaignRun.id)).all()
        assert runs == [friday, friday + timedelta(weeks=1)]
        assert session.get(Campaign, campaign_id).next_run_at == friday + timedelta(weeks=2)


@pytest.mark.parametrize(
    ("rule", "after", "expected"),
    [
        # The 31st skips the months without one.
        ("30 10 31 * *", datetime(2027, 1, 31, 2, 0), datetime(2027, 3, 31, 1, 30)),
        # The last day of February (not a leap year) from late January.
        ("0 9 28-31 2 *", datetime(2027, 1, 30), datetime(2027, 2, 28, 0, 0)),
        # New Year's Eve 23:30 Tokyo is still 2026 in UTC at 14:30.
        ("30 23 31 12 *", datetime(2026, 12, 1), datetime(2026, 12, 31, 14, 30)),
        # The first of the month at 00:15 Tokyo is the previous day in UTC.
        ("15 0 1 * *", datetime(2026, 11, 30, 16, 0), datetime(2026, 12, 31, 15, 15)),
    ],
)
def test_recurrence_in_the_shop_time_zone_across_month_ends(rule, after, expected):
    campaign = Campaign(recurrence=rule, timezone=TOKYO, send_at=None)
    got = next_run_time(campaign, after.replace(tzinfo=UTC))
    assert got == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"type": "text", "text": "x" * 5001}]}, "messages[0].text"),
        ({"messages": [{"type": "video"}]}, "messages[0].type"),
        (
            {
                "messages": [
                    {"type": "image", "originalContentUrl": "http://a", "previewImageUrl": 1}
                ]
            },
            "messages[0].originalContentUrl",
        ),
        ({"messages": TEXT * 6}, "messages"),
        ({"send_at": datetime(2020, 1, 1, tzinfo=UTC)}, "send_at"),
        ({"recurrence": "every friday"}, "recurrence"),
        ({"topic": "存在しない"}, "topic"),
        ({"holdout_percent": 90}, "holdout_percent"),
        (
            {"conditions": {"all": [{"field": "nope", "op": "eq", "value": 1}]}},
            "conditions.all[0].field",
        ),
    ],
)
def test_invalid_campaigns_name_the_bad_field(db, fields, where):
    data = {"name": "x", "messages": TEXT, **fields}
    with db.transaction() as session, pytest.raises(CampaignError) as error:
        create_campaign(session, CampaignInput(**data), utcnow(), TOKYO)
    assert error.value.where == where


def test_a_message_that_would_pass_lines_limit_only_with_a_short_name_is_refused(db):
    text = "x" * 4990 + "{name}"  # 4,990 + up to 20 characters of name > 5,000
    with db.transaction() as session, pytest.raises(CampaignError) as error:
        create_campaign(
            session,
            CampaignInput(name="x", messages=[{"type": "text", "text": text}]),
            utcnow(),
            TOKYO,
        )
    assert error.value.where == "messages[0].text"


def test_saved_politeness_rules_are_used(db):
    with db.transaction() as session:
        save_politeness(session, Politeness(cap_messages=3, cap_days=14, quiet_start="22:00"))
    with db.read_session() as session:
        rules = load_politeness(session)
    assert (rules.cap_messages, rules.cap_days, rules.quiet_start) == (3, 14, "22:00")


def test_a_batch_held_by_a_dead_sender_is_not_taken_while_its_lease_runs(db, line, customers):
    customers(2)
    with time_machine.travel(noon_tokyo(), tick=True):
        schedule(db)
        tick(db)
        assert len(_claim(db)) == 1
        assert _claim(db) == []
        with db.read_session() as session:
            batch = session.scalar(select(CampaignBatch))
            assert batch.status == "sending" and batch.retry_key
