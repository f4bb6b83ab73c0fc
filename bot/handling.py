"""Handles stored webhook events: one customer's events one at a time, in the order they
happened; different customers side by side, in one transaction per round.

A round takes free lanes (a lane is one customer's or chat's events), handles their oldest
pending events (a handler that raises fails only its own event), queues the bot's replies in
the outbox and marks the events handled. Nothing here calls LINE: the
sender (bot/sending.py) delivers what the round queued once it has committed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.events import read_event
from bot.handlers import EVENT_HANDLERS
from bot.turn import NO_LOYALTY, LoyaltyContext, Turn
from crm.bot_texts import load_texts
from crm.clock import utcnow
from crm.conversations import forget_conversations, load_conversations
from crm.customers import get_or_register_customer, load_customers
from crm.db import Database
from crm.flows import forget_runs, load_active_runs
from crm.inbound_events import (
    any_pending_events,
    fail_event,
    finish_events,
    pending_events_of_lanes,
    take_free_lanes,
)
from crm.interactions import queue_outbound
from crm.line_limits import MAX_MESSAGES_PER_REQUEST
from crm.models import EVENT_DONE, EVENT_IGNORED, Customer, InboundEvent

log = logging.getLogger(__name__)

# A round's size bounds its transaction, and so how long it holds SQLite's write lock (about
# 60 ms for 256 events). Smaller rounds cost more CPU per event (16 x 2: 1.8x, in-process) and
# did not shorten acknowledgements measurably (docs/benchmarks.md).
LANES_PER_ROUND = 64
EVENTS_PER_LANE = 4


@dataclass(frozen=True)
class Round:
    """What every event of one round shares."""

    now: datetime
    texts: dict[str, str]
    default_timezone: str
    customers: dict[str, Customer] = field(default_factory=dict)  # by LINE user ID
    loyalty: LoyaltyContext = NO_LOYALTY


def handle_pending_events(
    db: Database,
    default_timezone: str = "Asia/Tokyo",
    loyalty: LoyaltyContext | None = None,
) -> int:
    """One round in one transaction; returns how many events it handled (0: none waiting).
    `loyalty` carries the secret and public address the stamp and coupon replies need."""
    with db.read_session() as session:
        if not any_pending_events(session):
            return 0  # an idle worker takes no write lock
    with db.transaction(background=True) as session:
        keys = take_free_lanes(session, LANES_PER_ROUND)
        rows = pending_events_of_lanes(session, keys, EVENTS_PER_LANE)
        if not rows:
            return 0
        now = utcnow()
        shared = Round(now, load_texts(session), default_timezone, loyalty=loyalty or NO_LOYALTY)
        finished = _handle_events(session, rows, shared)
        for status, event_ids in finished.items():
            finish_events(session, event_ids, status, now)
    return len(rows)


def _handle_events(session: Session, rows, base: Round) -> dict[str, list[int]]:
    """Handle the round's events under one savepoint; if a handler raises (rare), roll back
    and handle them again each under a savepoint of its own, so only that event fails. A
    savepoint per event from the start would cost 2.7x the CPU (docs/benchmarks.md)."""
    try:
        with session.begin_nested():
            shared = _round(session, rows, base)
            return _handle_round(session, rows, shared, _handle)
    except OperationalError:
        raise  # the database is unreachable: the round rolls back, its events stay pending
    except Exception:
        log.info("a handler raised; handling the round's events one savepoint each")
    forget_conversations(session)
    forget_runs(session)
    shared = _round(session, rows, base)
    return _handle_round(session, rows, shared, _handle_in_savepoint)


def _round(session: Session, rows: list[InboundEvent], base: Round) -> Round:
    """What the round's events share, with their customers and chats read in two queries."""
    customers = load_customers(session, [_user_id(row) for row in rows])
    customer_ids = [customer.id for customer in customers.values()]
    load_conversations(session, customer_ids)
    load_active_runs(session, customer_ids)
    return replace(base, customers=customers)


def _handle_round(session, rows, shared: Round, handle) -> dict[str, list[int]]:
    """Each event's id under the status its handling gave it (failed ones are already kept)."""
    finished: dict[str, list[int]] = {EVENT_DONE: [], EVENT_IGNORED: []}
    for row in rows:
        status = handle(session, row, shared)
        if status is not None:
            finished[status].append(row.id)
    return finished


def _user_id(row: InboundEvent) -> str | None:
    """The 1:1 chat's user, read from the lane key (`user:U…`)."""
    kind, _, value = row.lane_key.partition(":")
    return value if kind == "user" else None


def _handle_in_savepoint(session: Session, row: InboundEvent, shared: Round) -> str | None:
    """Handle one event; if its handler raises, keep it as failed and go on with the next."""
    try:
        with session.begin_nested():
            return _handle(session, row, shared)
    except OperationalError:
        raise  # the database is unreachable: the round rolls back, its events stay pending
    except Exception as exc:
        log.exception("event %s failed; kept as failed for inspection", row.id)
        shared.customers.pop(_user_id(row), None)  # it may have been rolled back with the event
        forget_conversations(session)
        forget_runs(session)
        fail_event(session, row.id, f"{type(exc).__name__}: {exc}", shared.now)
        return None


def _handle(session: Session, row: InboundEvent, shared: Round) -> str:
    """Route one event to its handler and queue the reply it produced; the event's status."""
    event = read_event(row.payload, row.webhook_event_id, row.occurred_at, row.received_at)
    handler = EVENT_HANDLERS.get(event.type)
    if handler is None or event.user_id is None:
        return EVENT_IGNORED
    customer = get_or_register_customer(session, event.user_id, event.occurred_at, shared.customers)
    turn = Turn(
        session,
        event,
        customer,
        shared.texts,
        shared.now,
        default_timezone=shared.default_timezone,
        loyalty=shared.loyalty,
    )
    handler(turn)
    _queue_replies(session, turn, shared.now)
    return EVENT_DONE


def _queue_replies(session: Session, turn: Turn, now: datetime) -> None:
    """The turn's answer as one reply (LINE takes 5 messages); any more follow as pushes, in
    order, so a card or coupon past the fifth message is not lost."""
    replies = turn.replies
    for start in range(0, len(replies), MAX_MESSAGES_PER_REQUEST):
        first = start == 0
        queue_outbound(
            session,
            turn.customer,
            messages=replies[start : start + MAX_MESSAGES_PER_REQUEST],
            sender="bot",
            now=now,
            reply_token=turn.event.reply_token if first else None,
            reply_token_expires_at=turn.event.reply_token_expires_at if first else None,
        )
