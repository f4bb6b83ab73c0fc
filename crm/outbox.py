"""The outbox: outbound messages waiting for LINE, claimed in batches, and the one state
machine that turns what LINE answered into the row's next state.

`record_outcome` is the only place that writes a delivery outcome; the table it implements is
in docs/architecture.md ("Delivery outcomes") and in tests/test_outbox.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import Session, aliased

from crm.models import (
    DELIVERY_FAILED,
    DELIVERY_PENDING,
    DELIVERY_SENDING,
    DELIVERY_SENT,
    Customer,
    Interaction,
)

# What one LINE call came to; bot/line_client.py sorts LINE's answers into these.
SENT = "sent"  # 2xx
ALREADY_ACCEPTED = "already_accepted"  # 409: LINE accepted this retry key before
BAD_REPLY_TOKEN = "bad_reply_token"  # noqa: S105 - 400 "Invalid reply token": expired or used
RETRY = "retry"  # 429 rate limit, 5xx, timeout, network error: the same request may go later
FAILED = "failed"  # refused for good (other 4xx, the monthly limit, an invalid message)

REPLY, PUSH = "reply", "push"

# Waits after the n-th failed try; the short first ones are retried by the same sender loop
# that sends everything else. All of them fit in the 24 h LINE remembers a retry key.
RETRY_DELAYS = (
    timedelta(seconds=1),
    timedelta(seconds=3),
    timedelta(seconds=10),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=4),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# While a message has had fewer tries than this, the customer's later messages wait for it, so
# they arrive in order; a message in the long back-off no longer holds the others up.
IN_ORDER_ATTEMPTS = 3
# Longer than one LINE call can take with its timeouts (bot/line_client.py); a row still
# `sending` after its lease was left by a sender that died and is claimed again.
SEND_LEASE = timedelta(seconds=20)


@dataclass(frozen=True)
class SendOutcome:
    """What became of one send request."""

    result: str
    http_status: int | None = None
    message: str = ""
    request_id: str | None = None


@dataclass(frozen=True)
class OutboundJob:
    """One claimed message, read before calling LINE: a reply while its token is fresh,
    otherwise a push carrying the row's retry key."""

    interaction_id: int
    to: str
    messages: list[dict[str, Any]]
    retry_key: str
    reply_token: str | None

    @property
    def method(self) -> str:
        return REPLY if self.reply_token else PUSH


def any_due_messages(session: Session, now: datetime) -> bool:
    """Is any message due? (A cheap read before taking the write lock.)"""
    statement = select(Interaction.id).where(_is_due(now))
    return session.scalar(statement.limit(1)) is not None


def claim_due_messages(
    session: Session, now: datetime, limit: int, lease: timedelta = SEND_LEASE
) -> list[OutboundJob]:
    """Take up to `limit` due messages, at most one per customer and never ahead of an earlier
    one of theirs still being tried, and mark them `sending` under a lease."""
    found = session.execute(_CLAIM, {"now": now, "limit": limit})
    return [_claim(row, to, now, lease) for row, to in found]


def _is_due(now):
    """Pending and due, or left `sending` by a sender whose lease ran out."""
    return is_waiting(Interaction) & or_(
        (Interaction.delivery_status == DELIVERY_PENDING) & (Interaction.next_attempt_at <= now),
        (Interaction.delivery_status == DELIVERY_SENDING) & (Interaction.locked_until < now),
    )


def is_waiting(table):
    """Pending or sending, with the values written into the SQL: the outbox's partial indexes
    (`WHERE delivery_status IN ('pending', 'sending')`) are used only when the database can
    see that the query asks for a subset of them, which a bound parameter hides from SQLite.
    Without them a claim reads every message ever sent."""
    statuses = bindparam(None, (DELIVERY_PENDING, DELIVERY_SENDING), expanding=True)
    return table.delivery_status.in_(statuses.render_literal_execute())


def _waits_for_earlier():
    """An earlier message of the same customer is still in its first tries."""
    earlier = aliased(Interaction)
    return exists().where(
        earlier.customer_id == Interaction.customer_id,
        earlier.id < Interaction.id,
        is_waiting(earlier),
        or_(earlier.delivery_status == DELIVERY_SENDING, earlier.attempts < IN_ORDER_ATTEMPTS),
    )


# Built once: a sender runs it several times a second.
_CLAIM = (
    select(Interaction, Customer.line_user_id)
    .join(Customer, Customer.id == Interaction.customer_id)
    .where(_is_due(bindparam("now")), ~_waits_for_earlier())
    .order_by(Interaction.next_attempt_at, Interaction.id)
    .limit(bindparam("limit"))
    .with_for_update(of=Interaction, skip_locked=True)  # PostgreSQL; SQLite has one writer
)


def _claim(row: Interaction, to: str, now: datetime, lease: timedelta) -> OutboundJob:
    """Mark the row `sending` for this attempt and decide between reply and push."""
    expires = row.reply_token_expires_at
    if row.reply_token and not (expires and now < expires):
        row.reply_token = None  # stale: LINE would refuse it; push with the retry key instead
    row.delivery_status = DELIVERY_SENDING
    row.locked_until = now + lease
    row.attempts += 1
    row.delivery_method = REPLY if row.reply_token else PUSH
    return OutboundJob(row.id, to, row.payload["messages"], row.retry_key, row.reply_token)


def record_outcomes(
    session: Session, outcomes: Iterable[tuple[OutboundJob, SendOutcome]], now: datetime
) -> list[Interaction]:
    """Write the outcomes of a sender round in one go; returns the rows."""
    by_id = {job.interaction_id: outcome for job, outcome in outcomes}
    if not by_id:
        return []
    rows = session.scalars(select(Interaction).where(Interaction.id.in_(by_id))).all()
    for row in rows:
        record_outcome(row, by_id[row.id], now)
    return list(rows)


def record_outcome(row: Interaction, outcome: SendOutcome, now: datetime) -> None:
    """The row's next state after one attempt (claimed by `claim_due_messages`)."""
    row.locked_until = None
    OUTCOME_RULES[outcome.result](row, outcome, now)


def _sent(row: Interaction, outcome: SendOutcome, now: datetime, note: str | None = None) -> None:
    row.delivery_status = DELIVERY_SENT
    row.sent_at = now
    row.line_request_id = outcome.request_id
    row.reply_token = None
    row.error_status = None if note is None else outcome.http_status
    row.error_message = note


def _bad_reply_token(row: Interaction, outcome: SendOutcome, now: datetime) -> None:
    """A first reply: LINE took nothing, push now with the retry key. A reply tried again
    after an attempt whose answer never came: that attempt used the token, so it went out."""
    if row.attempts > 1:
        _sent(row, outcome, now, "reply token already used by the interrupted earlier attempt")
        return
    row.reply_token = None
    _pending(row, outcome, due=now)


def _retry(row: Interaction, outcome: SendOutcome, now: datetime) -> None:
    """A passing failure: the same request later (a reply while its token is fresh, else a
    push with the same retry key), or give up after MAX_ATTEMPTS."""
    if row.attempts >= MAX_ATTEMPTS:
        message = f"gave up after {row.attempts} attempts: {outcome.message}"
        _failed(row, SendOutcome(FAILED, outcome.http_status, message), now)
        return
    delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
    _pending(row, outcome, due=now + delay)


def _failed(row: Interaction, outcome: SendOutcome, now: datetime) -> None:
    row.delivery_status = DELIVERY_FAILED
    row.error_status = outcome.http_status
    row.error_message = outcome.message


def _pending(row: Interaction, outcome: SendOutcome, due: datetime) -> None:
    row.delivery_status = DELIVERY_PENDING
    row.next_attempt_at = due
    row.error_status = outcome.http_status
    row.error_message = outcome.message


OUTCOME_RULES = {
    SENT: _sent,
    ALREADY_ACCEPTED: _sent,  # accepted earlier (a resend after a crash or a lost answer)
    BAD_REPLY_TOKEN: _bad_reply_token,
    RETRY: _retry,
    FAILED: _failed,
}
