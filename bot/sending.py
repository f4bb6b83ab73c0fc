"""Talks to LINE for what the database says is due: outbound messages and profile fetches.

A round claims due rows in one transaction, makes one LINE call per row from a thread pool
(different customers at once; a customer's messages one round after another, in order),
then records every outcome in one more transaction. A passing failure goes back to `pending`
with a short first delay and a later round tries it again: nothing sleeps here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import timedelta

from bot.line_client import PROFILE_NOT_FOUND, LineClient, ProfileOutcome
from crm.clock import utcnow
from crm.customers import (
    any_profiles_due,
    apply_profile,
    claim_profiles_due,
    mark_profile_unavailable,
    schedule_profile_retry,
)
from crm.db import Database
from crm.models import Customer
from crm.outbox import (
    FAILED,
    RETRY,
    SENT,
    OutboundJob,
    SendOutcome,
    any_due_messages,
    claim_due_messages,
    record_outcomes,
)

log = logging.getLogger(__name__)

MESSAGES_PER_ROUND = 200
PROFILES_PER_ROUND = 50
PROFILE_LEASE = timedelta(seconds=30)


def send_due_messages(
    db: Database, line: LineClient, pool: Executor | None = None, limit: int = MESSAGES_PER_ROUND
) -> int:
    """One round: claim due messages, send each, record the outcomes; returns how many."""
    with db.read_session() as session:
        if not any_due_messages(session, utcnow()):
            return 0  # an idle worker takes no write lock
    with db.transaction(background=True) as session:
        jobs = claim_due_messages(session, utcnow(), limit)
    if not jobs:
        return 0
    outcomes = list(_map(pool)(lambda job: (job, _send(line, job)), jobs))
    with db.transaction(background=True) as session:
        record_outcomes(session, outcomes, utcnow())
    return len(jobs)


def _send(line: LineClient, job: OutboundJob) -> SendOutcome:
    """One LINE call; a refusal for good is logged with LINE's message for the operator, and an
    unexpected error counts as a passing failure whose answer never came."""
    try:
        outcome = line.send(job)
    except Exception as exc:
        log.exception("sending message %s failed unexpectedly", job.interaction_id)
        return SendOutcome(RETRY, None, f"{type(exc).__name__}: {exc}"[:1000])
    if outcome.result == FAILED:
        log.warning("LINE refused message %s: %s", job.interaction_id, outcome.message)
    return outcome


def fetch_due_profiles(
    db: Database, line: LineClient, pool: Executor | None = None, limit: int = PROFILES_PER_ROUND
) -> int:
    """One round of profile fetches for new and refollowing customers; returns how many."""
    with db.read_session() as session:
        if not any_profiles_due(session, utcnow()):
            return 0
    with db.transaction(background=True) as session:
        due = claim_profiles_due(session, utcnow(), limit, PROFILE_LEASE)
    if not due:
        return 0
    answers = list(_map(pool)(lambda item: (item[0], line.get_profile(item[1])), due))
    with db.transaction(background=True) as session:
        now = utcnow()
        for customer_id, outcome in answers:
            customer = session.get(Customer, customer_id)
            PROFILE_RULES.get(outcome.result, _retry_profile)(customer, outcome, now)
    return len(due)


def _apply_profile(customer: Customer, outcome: ProfileOutcome, now) -> None:
    apply_profile(customer, outcome.profile, now)


def _profile_unavailable(customer: Customer, outcome: ProfileOutcome, now) -> None:
    mark_profile_unavailable(customer, now)


def _retry_profile(customer: Customer, outcome: ProfileOutcome, now) -> None:
    schedule_profile_retry(customer, now)


PROFILE_RULES: dict[str, Callable[[Customer, ProfileOutcome, object], None]] = {
    SENT: _apply_profile,
    PROFILE_NOT_FOUND: _profile_unavailable,
}


def _map(pool: Executor | None) -> Callable:
    """The pool's map, or the calling thread's for a caller without one (tests, commands)."""
    return pool.map if pool is not None else map
