"""Webhook events as received: stored once each, then handled in order per lane (customer)."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from crm.clock import from_line_timestamp
from crm.db import insert_ignoring_conflicts
from crm.models import EVENT_FAILED, EVENT_PENDING, InboundEvent

_SOURCE_ID_FIELDS = {"user": "userId", "group": "groupId", "room": "roomId"}


def store_events(
    session: Session, destination: str | None, events: list[Any], received_at: datetime
) -> None:
    """Store a webhook's events, skipping ones already stored."""
    destination = storable_json(destination)
    rows = [_event_row(destination, event, received_at) for event in events]
    if rows:
        insert_ignoring_conflicts(session, InboundEvent, rows, "webhook_event_id")


def _event_row(destination: str | None, event: Any, received_at: datetime) -> dict:
    """One inbound_events row; an event too broken to read is still kept, raw."""
    event = storable_json(event)
    if not isinstance(event, dict):
        event = {"type": "invalid", "raw": event}
    return {
        "webhook_event_id": _event_id(event),
        "lane_key": lane_key_for(event),
        "event_type": str(event.get("type") or "invalid")[:40],
        "occurred_at": _occurred_at(event, received_at),
        "received_at": received_at,
        "destination": destination,
        "is_redelivery": _is_redelivery(event),
        "payload": event,
        "status": EVENT_PENDING,
        "attempts": 0,
    }


def storable_json(value: Any) -> Any:
    """The same JSON in a form PostgreSQL's text and JSONB accept: NUL characters replaced,
    and the non-standard numbers Python's parser allows (NaN, Infinity, 1e999) kept as text."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, list):
        return [storable_json(item) for item in value]
    if isinstance(value, dict):
        return {storable_json(key): storable_json(item) for key, item in value.items()}
    return value


def _is_redelivery(event: dict) -> bool:
    context = event.get("deliveryContext")
    return isinstance(context, dict) and context.get("isRedelivery") is True


def _event_id(event: dict) -> str:
    """LINE's webhookEventId; a stable digest of the event when LINE's is missing."""
    given = event.get("webhookEventId")
    if isinstance(given, str) and 0 < len(given) <= 64:
        return given
    digest = hashlib.sha256(json.dumps(event, sort_keys=True, default=str).encode()).hexdigest()
    return f"sha256:{digest[:56]}"


def lane_key_for(event: dict) -> str:
    """Who the event belongs to; events of one lane are handled one at a time, in order."""
    source = event.get("source")
    if isinstance(source, dict):
        field = _SOURCE_ID_FIELDS.get(source.get("type"))
        value = source.get(field) if field else None
        if isinstance(value, str) and value:
            return f"{source['type']}:{value}"[:80]
    return "orphan"


def _occurred_at(event: dict, received_at: datetime) -> datetime:
    """When the event happened, per LINE's timestamp; receipt time when it is unusable."""
    timestamp = event.get("timestamp")
    if isinstance(timestamp, int) and not isinstance(timestamp, bool) and timestamp > 0:
        try:
            return from_line_timestamp(timestamp)
        except (OverflowError, OSError, ValueError):
            pass
    return received_at


def any_pending_events(session: Session) -> bool:
    """Is any event waiting to be handled? (A cheap read before taking the write lock.)"""
    statement = select(InboundEvent.id).where(InboundEvent.status == EVENT_PENDING).limit(1)
    return session.scalar(statement) is not None


def take_free_lanes(session: Session, limit: int, scan: int = 4) -> list[str]:
    """Up to `limit` lanes with pending events, oldest first, that this transaction now has to
    itself until it ends. On PostgreSQL a transaction-scoped advisory lock per lane keeps any
    other worker off it (a crash releases it with the connection); SQLite lets one writer in
    at a time, so the write transaction is the lock."""
    candidates = session.scalars(
        select(InboundEvent.lane_key)
        .where(InboundEvent.status == EVENT_PENDING)
        .order_by(InboundEvent.id)
        .limit(limit * scan)
    )
    keys = list(dict.fromkeys(candidates))[:limit]
    if not keys or session.get_bind().dialect.name != "postgresql":
        return keys
    return _lock_lanes(session, keys)


def _lock_lanes(session: Session, keys: list[str]) -> list[str]:
    """The lanes whose advisory lock this transaction got (the others are another worker's)."""
    taken = session.execute(
        text(
            "SELECT k FROM unnest(CAST(:keys AS text[])) AS k "
            "WHERE pg_try_advisory_xact_lock(hashtextextended(k, 0))"
        ),
        {"keys": keys},
    ).scalars()
    return list(taken)


def pending_events_of_lanes(
    session: Session, lane_keys: list[str], per_lane: int
) -> list[InboundEvent]:
    """The earliest `per_lane` unhandled events of each lane, in the order they happened."""
    if not lane_keys:
        return []
    position = (
        func.row_number()
        .over(
            partition_by=InboundEvent.lane_key,
            order_by=(InboundEvent.occurred_at, InboundEvent.id),
        )
        .label("position")
    )
    ranked = (
        select(InboundEvent.id, position)
        .where(InboundEvent.lane_key.in_(lane_keys), InboundEvent.status == EVENT_PENDING)
        .subquery()
    )
    statement = (
        select(InboundEvent)
        .join(ranked, ranked.c.id == InboundEvent.id)
        .where(ranked.c.position <= per_lane)
        .order_by(InboundEvent.lane_key, InboundEvent.occurred_at, InboundEvent.id)
    )
    return list(session.scalars(statement))


def finish_events(session: Session, event_ids: list[int], status: str, now: datetime) -> None:
    """Record that these events were handled (done or ignored), in one statement."""
    if event_ids:
        session.execute(
            update(InboundEvent)
            .where(InboundEvent.id.in_(event_ids))
            .values(status=status, processed_at=now, attempts=InboundEvent.attempts + 1),
            execution_options={"synchronize_session": False},
        )


def fail_event(session: Session, event_id: int, error: str, now: datetime) -> None:
    """The event's handler raised: keep the event and the error for a person to look at."""
    session.execute(
        update(InboundEvent)
        .where(InboundEvent.id == event_id)
        .values(
            status=EVENT_FAILED,
            last_error=error[:4000],
            processed_at=now,
            attempts=InboundEvent.attempts + 1,
        )
    )


def count_by_status(session: Session) -> dict[str, int]:
    """How many events are in each state (for /healthz and operators)."""
    rows = session.execute(
        select(InboundEvent.status, func.count()).group_by(InboundEvent.status)
    ).all()
    return {status: count for status, count in rows}
