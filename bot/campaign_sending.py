"""Sends campaign batches (crm/delivery.py) to LINE: multicast for a batch everyone gets alike,
a push per recipient when the messages name them or carry a coupon. Calls are paced by a rate
limit per method (default 150 multicasts/s, under LINE's 200; 2,000 pushes/s, LINE's own limit).

A round claims a few batches in one transaction (their retry keys, and a coupon campaign's
codes, committed before any call), calls LINE for them at once from a thread pool, and records
every outcome in one more transaction. Any number of senders can run: on PostgreSQL they share
a run's recipients with SKIP LOCKED; on SQLite they take turns at the write lock.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import Executor
from datetime import timedelta

from bot.line_client import LineClient
from crm.campaign_messages import TEST_COUPON_TEXT, personalised, with_coupon
from crm.clock import utcnow
from crm.db import Database
from crm.delivery import (
    BATCH_LEASE,
    BatchJob,
    any_campaign_work,
    claim_batches,
    finish_runs,
    record_batch,
)
from crm.outbox import RETRY, SendOutcome

log = logging.getLogger(__name__)


class RateLimit:
    """At most `per_second` calls a second across the threads that share it (a token bucket
    holding one second's worth)."""

    def __init__(self, per_second: float):
        self.per_second = per_second
        self._tokens = per_second
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                elapsed = now - self._last
                self._tokens = min(self.per_second, self._tokens + elapsed * self.per_second)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                pause = (1 - self._tokens) / self.per_second
            time.sleep(pause)


class CampaignSender:
    """One sender: claims batches, calls LINE, records outcomes."""

    def __init__(
        self,
        db: Database,
        line: LineClient,
        pool: Executor,
        multicast_per_second: float = 150,
        push_per_second: float = 2000,
        batches_per_round: int = 8,
        lease: timedelta = BATCH_LEASE,
        base_url: str | None = None,
    ):
        self.db = db
        self.line = line
        self.pool = pool
        self.multicasts = RateLimit(multicast_per_second)
        self.pushes = RateLimit(push_per_second)
        self.batches_per_round = batches_per_round
        self.lease = lease
        self.base_url = base_url  # where coupon cards' QR images are served

    def send_round(self) -> int:
        """Claim, send and record up to `batches_per_round` batches; returns recipients tried."""
        with self.db.read_session() as session:
            if not any_campaign_work(session, utcnow()):
                return 0
        with self.db.transaction(background=True) as session:
            jobs = claim_batches(
                session,
                utcnow(),
                self.batches_per_round,
                lease=self.lease,
                base_url=self.base_url,
            )
        if not jobs:
            return 0
        results = list(self.pool.map(self._send, jobs))
        with self.db.transaction(background=True) as session:
            now = utcnow()
            for job, outcomes in zip(jobs, results, strict=True):
                record_batch(session, job, outcomes, now)
            finish_runs(session, now)
        return sum(len(job.recipients) for job in jobs)

    def _send(self, job: BatchJob) -> dict[int, SendOutcome]:
        """LINE's answer per recipient id; an unexpected error is a passing failure."""
        try:
            if job.personalised:
                return self._push_each(job)
            return self._multicast(job)
        except Exception as exc:
            log.exception("campaign batch %s failed unexpectedly", job.batch_id)
            outcome = SendOutcome(RETRY, None, f"{type(exc).__name__}: {exc}"[:1000])
            return {recipient.recipient_id: outcome for recipient in job.recipients}

    def _multicast(self, job: BatchJob) -> dict[int, SendOutcome]:
        self.multicasts.wait()
        to = [recipient.line_user_id for recipient in job.recipients]
        outcome = self.line.multicast(to, job.messages, job.retry_key)
        _log_refusal(job, outcome)
        return {recipient.recipient_id: outcome for recipient in job.recipients}

    def _push_each(self, job: BatchJob) -> dict[int, SendOutcome]:
        outcomes = {}
        for recipient in job.recipients:
            self.pushes.wait()
            outcome = self.line.push(
                recipient.line_user_id, job.messages_for(recipient), job.push_key(recipient)
            )
            _log_refusal(job, outcome)
            outcomes[recipient.recipient_id] = outcome
        return outcomes


def _log_refusal(job: BatchJob, outcome: SendOutcome) -> None:
    if outcome.result not in ("sent", "already_accepted"):
        log.warning(
            "campaign %s batch %s: %s %s %s",
            job.campaign_id,
            job.batch_id,
            outcome.result,
            outcome.http_status,
            outcome.message,
        )


def send_test(line: LineClient, to: str, messages: list, display_name: str | None) -> SendOutcome:
    """A campaign's messages pushed to one staff member's own LINE, their name filled in (a
    coupon's place says where each customer's own code will be: no code is issued)."""
    shown = with_coupon(messages, [{"type": "text", "text": TEST_COUPON_TEXT}])
    return line.push(to, personalised(shown, display_name), str(uuid.uuid4()))
