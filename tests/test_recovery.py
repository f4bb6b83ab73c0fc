"""The worker process killed (SIGKILL) in the middle of a burst: nothing is lost, nothing is
handled or delivered twice. Web processes only store events, so the worker is the one to kill."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import time_machine
from sqlalchemy import func, select

from crm.clock import utcnow
from crm.interactions import INBOUND, OUTBOUND, queue_outbound
from crm.models import (
    DELIVERY_SENDING,
    DELIVERY_SENT,
    EVENT_DONE,
    EVENT_PENDING,
    Customer,
    InboundEvent,
    Interaction,
)
from tests import line_payloads as lp
from tests import sandbox_admin as sb
from tests.conftest import TEST_SECRET, TEST_TOKEN, wait_until

ROOT = Path(__file__).resolve().parent.parent
USERS = 12
TEXTS_PER_USER = 20
BATCH = 8  # events per webhook call


def _start_worker(db, line) -> subprocess.Popen:
    env = {
        **os.environ,
        "LINE_CHANNEL_SECRET": TEST_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TEST_TOKEN,
        "LINE_API_HOST": line.url,
        "DATABASE_URL": db.url,
        "SECRET_KEY": "k" * 32,
        "WORKER_POLL_MS": "50",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "worker"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(process: subprocess.Popen, sig=signal.SIGKILL) -> None:
    os.killpg(process.pid, sig)
    process.wait(10)


def _burst(line, users: list[str]) -> list[dict]:
    """A follow and TEXTS_PER_USER "help"s per customer, each with a real reply token, the
    customers interleaved as LINE would interleave them."""
    tokens = {user: sb.reply_tokens(line, user, TEXTS_PER_USER + 1) for user in users}
    events = [{**lp.follow(user), "replyToken": tokens[user][0]} for user in users]
    for n in range(1, TEXTS_PER_USER + 1):
        events += [{**lp.text(user, "help"), "replyToken": tokens[user][n]} for user in users]
    return events


IN_FLIGHT = (
    select(func.count())
    .select_from(Interaction)
    .where(Interaction.delivery_status == DELIVERY_SENDING)
)
PENDING_EVENTS = (
    select(func.count()).select_from(InboundEvent).where(InboundEvent.status == EVENT_PENDING)
)


def _mid_burst(db) -> bool:
    """Some events handled, others waiting, and LINE calls under way."""
    pending = _count(db, PENDING_EVENTS)
    return pending > 0 and _count(db, IN_FLIGHT) > 0


def _count(db, statement) -> int:
    with db.read_session() as session:
        return session.scalar(statement)


def test_killed_worker_loses_no_event_and_delivers_everything_once(
    db, line, post_events, services, work
):
    users = [sb.create_user(line, f"客{n}") for n in range(USERS)]
    events = _burst(line, users)
    for start in range(0, len(events), BATCH):
        assert post_events(*events[start : start + BATCH]).status_code == 200
    # LINE answers slowly: many calls are in flight at the kill.
    sb.add_fault(line, endpoint="reply", latency_ms=800, count=None)
    sb.add_fault(line, endpoint="push", latency_ms=800, count=None)

    worker = _start_worker(db, line)
    try:
        customers = select(func.count()).select_from(Customer)
        wait_until(lambda: _count(db, customers) == USERS, timeout=30, interval=0.01)
        with db.transaction() as session:  # staff write to each customer during the burst
            for customer in session.scalars(select(Customer)):
                text = {"type": "text", "text": f"{customer.display_name}様へ"}
                queue_outbound(session, customer, messages=[text], sender="staff", now=utcnow())
        wait_until(lambda: _mid_burst(db), timeout=30, interval=0.01)
    finally:
        _kill(worker)
    assert _count(db, IN_FLIGHT) > 0, "the kill found no LINE call in flight"
    assert _count(db, PENDING_EVENTS) > 0, "the kill came after the burst was handled"

    sb.clear_faults(line)
    # The dead worker's calls finish inside LINE; its leases run out; tokens are still fresh.
    time.sleep(1.0)
    with time_machine.travel(utcnow() + timedelta(seconds=25), tick=False):
        work(max_rounds=1000)

    with db.read_session() as session:
        statuses = Counter(session.scalars(select(InboundEvent.status)))
        logged_in = Counter(
            session.scalars(
                select(Interaction.source_event_id).where(Interaction.direction == INBOUND)
            )
        )
        outbound = Counter(
            session.scalars(
                select(Interaction.delivery_status).where(Interaction.direction == OUTBOUND)
            )
        )
    assert statuses == {EVENT_DONE: len(events)}
    assert logged_in == {event["webhookEventId"]: 1 for event in events}  # each handled once
    per_user = 1 + TEXTS_PER_USER + 1  # the greeting, a help answer per text, the staff push
    assert outbound == {DELIVERY_SENT: USERS * per_user}
    for user in users:
        received = sb.delivered(line, user)
        assert len(received) == per_user, (user, Counter(r["via"] for r in received))


def test_separate_worker_process_handles_what_the_web_stored(db, line, post_events):
    user = sb.create_user(line, "ワーカー")
    worker = _start_worker(db, line)
    try:
        assert post_events(lp.follow(user), lp.text(user, "help")).status_code == 200
        delivered = wait_until(
            lambda: len(sb.delivered(line, user)) == 2 and sb.delivered(line, user)
        )
    finally:
        _kill(worker, signal.SIGTERM)
    assert [d["message"]["type"] for d in delivered] == ["flex", "text"]
