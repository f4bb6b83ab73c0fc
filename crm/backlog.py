"""How much work is waiting: for /healthz, /metrics and the inbox's "replies are delayed" banner.

Read from the database, so every web process answers the same whichever one is asked, and
the figures survive restarts. Each count uses a partial index (pending events, the outbox,
messages holding a LINE error) except the totals by status, which count every event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.models import (
    DELIVERY_PENDING,
    DELIVERY_SENDING,
    EVENT_PENDING,
    InboundEvent,
    Interaction,
)
from crm.outbox import is_waiting

# Staff see a banner when customers' messages or the bot's answers wait longer than this.
DELAY_WORTH_A_BANNER = timedelta(minutes=1)


@dataclass(frozen=True)
class Backlog:
    """A snapshot of the waiting work."""

    events_by_status: dict[str, int]
    oldest_pending_event_age: float | None  # seconds since the oldest pending event arrived
    outbox_by_status: dict[str, int]  # pending and sending messages
    oldest_due_message_age: float | None  # seconds the longest-waiting due message has waited
    line_errors_by_status: dict[int, int]  # messages whose last LINE answer was this error

    @property
    def events_pending(self) -> int:
        return self.events_by_status.get(EVENT_PENDING, 0)

    @property
    def replies_delayed(self) -> bool:
        return _too_long(self.oldest_pending_event_age, self.oldest_due_message_age)


def read_backlog(session: Session, now: datetime) -> Backlog:
    """Everything in one read session."""
    return Backlog(
        events_by_status=_events_by_status(session),
        oldest_pending_event_age=_age(now, _oldest_pending_event(session)),
        outbox_by_status=_outbox_by_status(session),
        oldest_due_message_age=_age(now, _oldest_due_message(session, now)),
        line_errors_by_status=_line_errors_by_status(session),
    )


def replies_delayed(session: Session, now: datetime) -> bool:
    """Are customers waiting for the bot longer than DELAY_WORTH_A_BANNER? (The banner's
    question alone: two indexed lookups.)"""
    return _too_long(
        _age(now, _oldest_pending_event(session)), _age(now, _oldest_due_message(session, now))
    )


def _too_long(*ages: float | None) -> bool:
    limit = DELAY_WORTH_A_BANNER.total_seconds()
    return any(age is not None and age > limit for age in ages)


def _events_by_status(session: Session) -> dict[str, int]:
    rows = session.execute(select(InboundEvent.status, func.count()).group_by(InboundEvent.status))
    return {status: count for status, count in rows}


def _oldest_pending_event(session: Session) -> datetime | None:
    statement = (
        select(InboundEvent.received_at)
        .where(InboundEvent.status == EVENT_PENDING)
        .order_by(InboundEvent.id)
        .limit(1)
    )
    return session.scalar(statement)


def _outbox_by_status(session: Session) -> dict[str, int]:
    statement = (
        select(Interaction.delivery_status, func.count())
        .where(is_waiting(Interaction))
        .group_by(Interaction.delivery_status)
    )
    counts = dict.fromkeys((DELIVERY_PENDING, DELIVERY_SENDING), 0)
    counts.update({status: count for status, count in session.execute(statement)})
    return counts


def _oldest_due_message(session: Session, now: datetime) -> datetime | None:
    statement = select(func.min(Interaction.next_attempt_at)).where(
        is_waiting(Interaction), Interaction.next_attempt_at <= now
    )
    return session.scalar(statement)


def _line_errors_by_status(session: Session) -> dict[int, int]:
    statement = (
        select(Interaction.error_status, func.count())
        .where(Interaction.error_status.is_not(None))
        .group_by(Interaction.error_status)
    )
    return {status: count for status, count in session.execute(statement)}


def _age(now: datetime, since: datetime | None) -> float | None:
    return None if since is None else max(0.0, (now - since).total_seconds())
