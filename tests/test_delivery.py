"""Sending to LINE: replies, pushes with retry keys, and every way LINE can say no."""

from datetime import timedelta

import time_machine
from sqlalchemy import select

from bot.line_client import LineClient
from crm.clock import utcnow
from crm.interactions import queue_outbound
from crm.models import (
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_SENT,
    PROFILE_PENDING,
    PROFILE_UNAVAILABLE,
    Customer,
    Interaction,
)
from tests import line_payloads as lp
from tests import sandbox_admin as sb
from tests.conftest import wait_until


def lp_text(text):
    return {"type": "text", "text": text}


def _outbound(db):
    with db.read_session() as session:
        return list(
            session.scalars(
                select(Interaction).where(Interaction.direction == "out").order_by(Interaction.id)
            )
        )


def _queue_text(db, line_user_id, text="お知らせ"):
    with db.transaction() as session:
        customer = Customer(line_user_id=line_user_id, follow_status="following")
        session.add(customer)
        session.flush()
        item = queue_outbound(
            session,
            customer,
            messages=[{"type": "text", "text": text}],
            sender="staff",
            now=utcnow(),
        )
        session.flush()
        return item.id


def test_push_carries_the_stored_retry_key(services, db, line, work):
    user = sb.create_user(line, "Key")
    item_id = _queue_text(db, user)
    assert work() >= 1
    [item] = _outbound(db)
    assert item.id == item_id
    assert item.delivery_status == DELIVERY_SENT
    assert item.delivery_method == "push"
    [received] = sb.delivered(line, user)
    assert received["retry_key"] == item.retry_key
    assert received["message"]["text"] == "お知らせ"


def test_rate_limit_then_success_delivers_once(services, db, line, work):
    user = sb.create_user(line, "Busy")
    _queue_text(db, user)
    sb.add_fault(line, endpoint="push", status=429, count=2)
    work()
    [item] = _outbound(db)
    assert (item.delivery_status, item.error_status) == (DELIVERY_PENDING, 429)
    work.over(30)
    [item] = _outbound(db)
    assert item.delivery_status == DELIVERY_SENT
    assert item.attempts == 3
    assert len(sb.delivered(line, user)) == 1


def test_server_errors_back_off_and_keep_the_message(services, db, line, work):
    user = sb.create_user(line, "Down")
    _queue_text(db, user)
    sb.add_fault(line, endpoint="push", status=500, count=None)
    work()
    [item] = _outbound(db)
    assert item.delivery_status == DELIVERY_PENDING
    assert item.error_status == 500
    assert item.next_attempt_at > utcnow()  # a short first back-off; the sender never sleeps
    work.over(180)  # tries at 0, 5, 10, 20, 50 and 170 s: the waits grow
    [item] = _outbound(db)
    assert (item.attempts, item.delivery_status) == (6, DELIVERY_PENDING)
    assert item.next_attempt_at > utcnow() + timedelta(minutes=12)
    assert sb.delivered(line, user) == []

    requests_before = len(sb.api_requests(line))
    work()  # not due yet: nothing is sent
    assert len(sb.api_requests(line)) == requests_before

    sb.clear_faults(line)
    with time_machine.travel(utcnow() + timedelta(minutes=15), tick=True):
        work()
    [item] = _outbound(db)
    assert item.delivery_status == DELIVERY_SENT
    assert len(sb.delivered(line, user)) == 1


def test_client_error_is_failed_with_lines_message(services, db, line, work):
    user = sb.create_user(line, "Bad")
    _queue_text(db, user)
    sb.add_fault(
        line,
        endpoint="push",
        status=400,
        count=1,
        body={
            "message": "The request body has 1 error(s)",
            "details": [{"message": "May not be empty", "property": "messages[0].text"}],
        },
    )
    work()
    [item] = _outbound(db)
    assert item.delivery_status == DELIVERY_FAILED
    assert item.error_status == 400
    assert "messages[0].text: May not be empty" in item.error_message


def test_unknown_user_push_fails_with_lines_message(services, db, line, work):
    _queue_text(db, lp.new_user_id())
    work()
    [item] = _outbound(db)
    assert item.delivery_status == DELIVERY_FAILED
    assert item.error_message == "Failed to send messages"


def test_timeout_is_retried_with_the_same_key_and_delivered_once(services, db, line, work):
    user = sb.create_user(line, "Slow")
    _queue_text(db, user)
    sb.add_fault(line, endpoint="push", timeout=True, timeout_seconds=3, count=1)
    work()
    [item] = _outbound(db)
    assert (item.delivery_status, item.error_message) == (
        DELIVERY_PENDING,
        "network error: ReadTimeoutError",
    )
    work.over(10, step=2)
    [item] = _outbound(db)
    assert item.delivery_status == DELIVERY_SENT
    # The timed-out request is still accepted by LINE after our timeout; the retry key means
    # the customer sees the message once either way.
    wait_until(lambda: len([r for r in sb.api_requests(line) if r["path"].endswith("/push")]) == 2)
    assert len(sb.delivered(line, user)) == 1


def test_resend_after_a_crash_is_answered_409_and_counted_as_sent(services, db, line, work):
    user = sb.create_user(line, "Crash")
    item_id = _queue_text(db, user)
    work()
    with db.transaction() as session:  # as if the process died before recording "sent"
        item = session.get(Interaction, item_id)
        item.delivery_status = DELIVERY_PENDING
        item.sent_at = None
    work()
    [item] = _outbound(db)
    assert item.delivery_status == DELIVERY_SENT
    assert item.line_request_id  # the accepted request's id from x-line-accepted-request-id
    assert len(sb.delivered(line, user)) == 1
    statuses = [r["status"] for r in sb.api_requests(line) if r["path"].endswith("/push")]
    assert statuses == [200, 409]


def test_network_error_is_retried_not_raised(services, db, settings):
    dead = LineClient(settings.line_channel_access_token, "http://127.0.0.1:9", (0.5, 0.5))
    outcome = dead.push(
        lp.new_user_id(), [{"type": "text", "text": "x"}], "123e4567-e89b-12d3-a456-426614174000"
    )
    assert outcome.result == "retry"
    assert "network error" in outcome.message
    profile = dead.get_profile(lp.new_user_id())
    assert profile.result == "retry"
    dead.close()


def test_reply_uses_the_token_from_a_sandbox_event(live_app, line):
    user = sb.create_user(line, "Live")
    sb.user_event(line, user, "follow")
    received = wait_until(lambda: sb.delivered(line, user))
    assert received[0]["via"] == "reply"


def test_failed_reply_is_tried_again_with_its_token_while_fresh(live_app, line):
    user = sb.create_user(line, "Again")
    sb.add_fault(line, endpoint="reply", status=500, count=1)
    sb.user_event(line, user, "follow")
    received = wait_until(lambda: sb.delivered(line, user))
    assert [r["via"] for r in received] == ["reply"]


def test_reply_whose_answer_never_came_is_delivered_once(post_events, db, line, work):
    """LINE took the reply but our call timed out: trying the token again gets "Invalid reply
    token", which means the first try used it; a push now would show the message twice."""
    user = sb.create_user(line, "Lost answer")
    [token] = sb.reply_tokens(line, user, 1)
    post_events({**lp.text(user, "help"), "replyToken": token})
    sb.add_fault(line, endpoint="reply", timeout=True, timeout_seconds=3, count=1)
    work()
    wait_until(lambda: sb.delivered(line, user))  # LINE finished the reply after our timeout
    work.over(10, step=2)
    [item] = _outbound(db)
    assert (item.delivery_status, item.delivery_method) == (DELIVERY_SENT, "reply")
    assert [r["via"] for r in sb.delivered(line, user)] == ["reply"]
    assert "already used" in item.error_message


def test_failed_reply_whose_token_went_stale_is_pushed(post_events, db, line, work):
    user = sb.create_user(line, "Stale")
    [token] = sb.reply_tokens(line, user, 1)
    post_events({**lp.text(user, "help"), "replyToken": token})
    sb.add_fault(line, endpoint="reply", status=500, count=1)
    work()
    with time_machine.travel(utcnow() + timedelta(minutes=2), tick=True):
        work()
    [item] = _outbound(db)
    assert (item.delivery_status, item.delivery_method) == (DELIVERY_SENT, "push")
    assert [r["via"] for r in sb.delivered(line, user)] == ["push"]


def test_a_customers_messages_arrive_in_order_across_a_retry(db, line, work):
    user = sb.create_user(line, "Order")
    first = _queue_text(db, user, "一通目")
    with db.transaction() as session:
        customer = session.get(Interaction, first).customer
        queue_outbound(
            session, customer, messages=[lp_text("二通目")], sender="staff", now=utcnow()
        )
    sb.add_fault(line, endpoint="push", status=500, count=1)
    work()
    assert sb.delivered(line, user) == []  # the second waits for the first
    work.over(10, step=2)
    assert [r["message"]["text"] for r in sb.delivered(line, user)] == ["一通目", "二通目"]


def test_expired_reply_token_falls_back_to_push(live_app, line):
    sb.configure(line, reply_token_ttl=0)
    user = sb.create_user(line, "Late")
    sb.user_event(line, user, "events", type="text", text="help")
    received = wait_until(lambda: sb.delivered(line, user))
    assert [r["via"] for r in received] == ["push"]


def test_profile_failure_never_loses_the_follow(post_events, services, db, line, work):
    user = sb.create_user(line, "NoProfile")
    sb.add_fault(line, endpoint="profile", status=500, count=None)
    post_events(lp.follow(user))
    work()
    with db.read_session() as session:
        customer = session.scalars(select(Customer).where(Customer.line_user_id == user)).one()
    assert customer.follow_status == "following"
    assert customer.profile_status == PROFILE_PENDING
    assert customer.profile_next_attempt_at > utcnow()
    assert len(sb.delivered(line, user)) == 1  # the greeting still went out

    sb.clear_faults(line)
    with time_machine.travel(utcnow() + timedelta(minutes=2), tick=True):
        work()
    with db.read_session() as session:
        customer = session.scalars(select(Customer).where(Customer.line_user_id == user)).one()
    assert customer.display_name == "NoProfile"


def test_profile_of_a_user_who_blocked_is_unavailable(post_events, services, db, line, work):
    user = sb.create_user(line, "Gone")
    sb.user_event(line, user, "unfollow")  # blocked in LINE; the webhook goes nowhere useful
    post_events(lp.text(user, "まだいますか"))
    work()
    with db.read_session() as session:
        customer = session.scalars(select(Customer).where(Customer.line_user_id == user)).one()
    assert customer.profile_status == PROFILE_UNAVAILABLE
