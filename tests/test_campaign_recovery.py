"""The scheduler process killed (SIGKILL) while a campaign goes out, at each point of a batch:
after the run's recipients are written but before any batch, while a batch's LINE call is in
flight, and right after LINE answered. After a restart every intended recipient has the
message exactly once, as the sandbox's own records show."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from crm.campaigns import CampaignInput, create_campaign
from crm.clock import utcnow
from crm.models import (
    FOLLOWING,
    Campaign,
    CampaignBatch,
    CampaignRecipient,
    CampaignRun,
    Customer,
)
from crm.politeness import Politeness, save_politeness
from tests import sandbox_admin as sb
from tests.conftest import TEST_SECRET, TEST_TOKEN, wait_until

ROOT = Path(__file__).resolve().parent.parent
FRIENDS = 1100  # three batches: 500, 500, 100


def _start_scheduler(db, line, *extra: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "LINE_CHANNEL_SECRET": TEST_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TEST_TOKEN,
        "LINE_API_HOST": line.url,
        "DATABASE_URL": db.url,
        "SECRET_KEY": "k" * 32,
        "CAMPAIGN_LEASE_SECONDS": "3",
        "CAMPAIGN_MULTICAST_PER_SECOND": "2",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "scheduler", *extra],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _kill(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def _friends(db, line) -> list[str]:
    users = [line.state.add_user(f"友だち{n}").user_id for n in range(FRIENDS)]
    rows = [
        {"line_user_id": user, "display_name": f"友だち{n}", "follow_status": FOLLOWING}
        for n, user in enumerate(users)
    ]
    with db.transaction() as session:
        session.execute(insert(Customer), rows)
        save_politeness(session, Politeness(quiet_enabled=False, cap_messages=0))
        create_campaign(
            session,
            CampaignInput(name="セール", messages=[{"type": "text", "text": "本日セール"}]),
            utcnow(),
            "Asia/Tokyo",
            schedule=True,
        )
    return users


def _scalar(db, statement):
    with db.read_session() as session:
        return session.scalar(statement)


def _sent(db) -> int:
    sent = select(func.count()).where(CampaignRecipient.status == "sent")
    return _scalar(db, sent.select_from(CampaignRecipient))


def _materialised(db) -> bool:
    return _scalar(db, select(func.count()).select_from(CampaignRecipient)) == FRIENDS


def _batch_in_flight(db) -> bool:
    return bool(_scalar(db, select(func.count()).select_from(CampaignBatch)))


def _line_answered(line) -> bool:
    return any(
        r["path"].endswith("/multicast") and r["status"] == 200 for r in sb.api_requests(line)
    )


KILL_POINTS = {
    "before_any_batch": lambda db, line: _materialised(db),
    "during_a_line_call": lambda db, line: _batch_in_flight(db),
    "after_line_answered": lambda db, line: _line_answered(line),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_9_at_each_point_then_restart_delivers_exactly_once(db, line, point):
    if point != "after_line_answered":
        sb.configure(line, latency_ms=1500)  # calls in flight long enough to be killed in
    users = _friends(db, line)
    scheduler = _start_scheduler(db, line)
    try:
        wait_until(lambda: KILL_POINTS[point](db, line), timeout=60, interval=0.01)
        _kill(scheduler)
        assert _sent(db) < FRIENDS  # killed mid-send, not after
        sb.configure(line, latency_ms=0)
        scheduler = _start_scheduler(db, line)
        wait_until(lambda: _scalar(db, select(Campaign.status)) == "sent", timeout=90, interval=0.2)
    finally:
        _kill(scheduler)
    got = Counter()
    for user in users:
        got[len([m for m in line.state.messages_for(user) if m["via"] == "multicast"])] += 1
    assert got == Counter({1: FRIENDS}), f"messages per friend: {dict(got)}"
    assert _scalar(db, select(func.count()).select_from(CampaignRun)) == 1
    assert _sent(db) == FRIENDS


def test_two_schedulers_at_once_start_one_run_and_deliver_once(db, line):
    users = _friends(db, line)
    first, second = _start_scheduler(db, line), _start_scheduler(db, line, "--sender-only")
    third = _start_scheduler(db, line)  # a second full scheduler started by mistake
    try:
        wait_until(lambda: _scalar(db, select(Campaign.status)) == "sent", timeout=90, interval=0.2)
    finally:
        for process in (first, second, third):
            _kill(process)
    assert all(
        len([m for m in line.state.messages_for(user) if m["via"] == "multicast"]) == 1
        for user in users
    )
    assert _scalar(db, select(func.count()).select_from(CampaignRun)) == 1
