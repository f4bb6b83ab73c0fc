"""Sends outbound interactions through LINE and writes the outcome back on the row (the outbox)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.line_client import BAD_REPLY_TOKEN, FAILED, RETRY, SENT, LineClient, SendOutcome
from crm.clock import utcnow
from crm.db import Database
from crm.models import Interaction
from crm.outbox import (
    claim_outbound,
    mark_failed,
    mark_sent,
    mark_sent_many,
    release_for_immediate_push,
    schedule_retry,
)

log = logging.getLogger(__name__)

SEND_LEASE = timedelta(seconds=60)  # longer than a LINE call with its timeouts can take
QUICK_TRIES = 3  # tries in a row before handing a message to the retry schedule
QUICK_BACKOFF_SECONDS = 0.25


@dataclass(frozen=True)
class OutboundJob:
    """What one send attempt needs, read from the row before calling LINE."""

    interaction_id: int
    to: str
    messages: list[dict[str, Any]]
    retry_key: str
    reply_token: str | None


def job_for(item: Interaction, to: str, now) -> OutboundJob:
    """The send attempt for a claimed row; the reply token only while it is fresh."""
    expires = item.reply_token_expires_at
    fresh = bool(item.reply_token and expires and now < expires)
    return OutboundJob(
        interaction_id=item.id,
        to=to,
        messages=item.payload["messages"],
        retry_key=item.retry_key,
        reply_token=item.reply_token if fresh else None,
    )


@dataclass(frozen=True)
class Delivered:
    """A first try that ended for good (sent or refused), waiting to be written back."""

    job: OutboundJob
    outcome: SendOutcome

    @property
    def method(self) -> str:
        return "reply" if self.job.reply_token else "push"


class Deliverer:
    """Delivers one outbound interaction: reply while the token is fresh, else push."""

    def __init__(self, db: Database, line: LineClient, sleep: Callable[[float], None] = time.sleep):
        self.db = db
        self.line = line
        self.sleep = sleep

    def deliver(
        self, interaction_id: int, first_job: OutboundJob | None = None, first_try: int = 0
    ) -> str | None:
        """Try a few times in a row; returns the last result, or None if not ours to send.

        `first_job` is a row the caller already claimed in its own transaction; `first_try`
        counts tries already made in this run (see `deliver_claimed`).
        """
        outcome = None
        for attempt in range(first_try, QUICK_TRIES):
            job = first_job if attempt == first_try and first_job else self._claim(interaction_id)
            if job is None:
                return outcome.result if outcome else None
            outcome = self._send(job)
            self._record(job, outcome, last_try=attempt == QUICK_TRIES - 1)
            if outcome.result in (SENT, FAILED):
                return outcome.result
            self._pause_after(outcome, attempt)
        return outcome.result if outcome else None

    def deliver_claimed(self, job: OutboundJob) -> Delivered | None:
        """First try of a row the caller claimed. A final outcome is returned for the caller to
        record with others in one transaction; a passing failure is recorded and retried here."""
        outcome = self._send(job)
        sent_job = job
        if outcome.result == BAD_REPLY_TOKEN:
            # LINE took nothing: push now with the retry key, as the next try would.
            sent_job = replace(job, reply_token=None)
            outcome = self._send(sent_job)
        if outcome.result in (SENT, FAILED):
            return Delivered(sent_job, outcome)
        self._record(job, outcome, last_try=QUICK_TRIES == 1)
        self._pause_after(outcome, 0)
        self.deliver(job.interaction_id, first_try=1)
        return None

    def record_delivered(self, session: Session, delivered: list[Delivered]) -> None:
        """Write final outcomes of several first tries in the caller's transaction."""
        now = utcnow()
        accepted = [
            (d.job.interaction_id, d.method, d.outcome.request_id)
            for d in delivered
            if d.outcome.result == SENT
        ]
        mark_sent_many(session, accepted, now)
        for refused in (d for d in delivered if d.outcome.result == FAILED):
            item = session.get(Interaction, refused.job.interaction_id)
            log.warning("LINE refused message %s: %s", item.id, refused.outcome.message)
            mark_failed(item, refused.outcome.http_status, refused.outcome.message)

    def _pause_after(self, outcome: SendOutcome, attempt: int) -> None:
        """Back off after a passing failure; a bad reply token is pushed again at once."""
        if outcome.result == RETRY:
            self.sleep(QUICK_BACKOFF_SECONDS * 2**attempt)

    def _claim(self, interaction_id: int) -> OutboundJob | None:
        """Lock the row for this attempt and read what to send."""
        now = utcnow()
        with self.db.transaction(background=True) as session:
            item = claim_outbound(session, interaction_id, now, SEND_LEASE)
            if item is None:
                return None
            return job_for(item, item.customer.line_user_id, now)

    def _send(self, job: OutboundJob) -> SendOutcome:
        """One call to LINE."""
        if job.reply_token:
            return self.line.reply(job.reply_token, job.messages)
        return self.line.push(job.to, job.messages, job.retry_key)

    def _record(self, job: OutboundJob, outcome: SendOutcome, last_try: bool) -> None:
        """Write the outcome on the row."""
        now = utcnow()
        method = "reply" if job.reply_token else "push"
        with self.db.transaction(background=True) as session:
            item = session.get(Interaction, job.interaction_id)
            if outcome.result == SENT:
                mark_sent(item, now, method, outcome.request_id)
            elif outcome.result == FAILED:
                log.warning("LINE refused message %s: %s", item.id, outcome.message)
                mark_failed(item, outcome.http_status, outcome.message)
            else:
                _keep_for_retry(item, job, outcome, now, last_try)


def _keep_for_retry(item: Interaction, job: OutboundJob, outcome: SendOutcome, now, last_try):
    """A reply that did not go through becomes a push; a passing failure waits its turn."""
    if job.reply_token:
        # A reply cannot carry a retry key: after any failure, push with the key instead.
        release_for_immediate_push(item, now)
    if outcome.result == BAD_REPLY_TOKEN or not last_try:
        item.delivery_status = "pending"
        item.locked_until = None
        item.next_attempt_at = now
        item.error_status = outcome.http_status
        item.error_message = outcome.message
        return
    schedule_retry(item, now, outcome.http_status, outcome.message)
