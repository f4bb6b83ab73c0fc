"""Handles stored webhook events lane by lane: one customer's events one at a time, in order.

Each event is one transaction (customer change, inbound interaction, queued reply, event marked
done); LINE is called only after it commits, so a failing call never loses what was said.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from bot.delivery import SEND_LEASE, Deliverer, OutboundJob, job_for
from bot.events import read_event
from bot.handlers import EVENT_HANDLERS, Turn
from bot.profiles import ProfileSync
from crm.bot_texts import load_texts
from crm.clock import utcnow
from crm.customers import get_or_register_customer
from crm.db import Database
from crm.inbound_events import (
    acquire_lane,
    extend_lane,
    fail_event,
    finish_event,
    next_pending_event,
    release_lane,
)
from crm.interactions import queue_outbound
from crm.models import EVENT_DONE, EVENT_IGNORED, PROFILE_PENDING
from crm.outbox import claim_new

log = logging.getLogger(__name__)

MAX_MESSAGES_PER_REQUEST = 5


class LaneLost(RuntimeError):
    """Our lease on the lane ran out and another worker took it."""


@dataclass
class Handled:
    """What is left to do after an event's transaction committed."""

    outbound: list[OutboundJob] = field(default_factory=list)
    profile_customer_id: int | None = None


class EventProcessor:
    """Runs lanes: acquire, handle each pending event, deliver its replies, release."""

    def __init__(
        self,
        db: Database,
        deliverer: Deliverer,
        profiles: ProfileSync,
        lease: timedelta = timedelta(seconds=60),
    ):
        self.db = db
        self.deliverer = deliverer
        self.profiles = profiles
        self.lease = lease

    def run_lane(self, lane_key: str, worker_id: str) -> int:
        """Handle every pending event of the lane; returns how many. 0 if the lane is busy."""
        with self.db.transaction() as session:
            if not acquire_lane(session, lane_key, worker_id, utcnow(), self.lease):
                return 0
        handled = 0
        released = False
        try:
            while (result := self._handle_next(lane_key, worker_id)) is not None:
                handled += 1
                self._after_commit(result)
            released = True  # _handle_next released it when it found the lane empty
        except LaneLost:
            log.warning("lost lane %s to another worker", lane_key)
            released = True
        finally:
            if not released:
                with self.db.transaction() as session:
                    release_lane(session, lane_key, worker_id)
        return handled

    def _handle_next(self, lane_key: str, worker_id: str) -> Handled | None:
        """Handle the lane's earliest pending event in one transaction."""
        event_id = None
        try:
            with self.db.transaction() as session:
                now = utcnow()
                if not extend_lane(session, lane_key, worker_id, now, self.lease):
                    raise LaneLost(lane_key)
                row = next_pending_event(session, lane_key)
                if row is None:
                    release_lane(session, lane_key, worker_id)
                    return None
                event_id = row.id
                return self._handle(session, row, now)
        except (LaneLost, OperationalError):
            raise
        except Exception as exc:
            log.exception("event %s failed; kept as failed for inspection", event_id)
            with self.db.transaction() as session:
                fail_event(session, event_id, f"{type(exc).__name__}: {exc}", utcnow())
            return Handled()

    def _handle(self, session, row, now) -> Handled:
        """Route one event to its handler and queue the reply it produced."""
        event = read_event(row.payload, row.webhook_event_id, row.occurred_at, row.received_at)
        handler = EVENT_HANDLERS.get(event.type)
        if handler is None or event.user_id is None:
            finish_event(session, row, EVENT_IGNORED, now)
            return Handled()
        customer = get_or_register_customer(session, event.user_id, event.occurred_at)
        session.flush()
        turn = Turn(session, event, customer, load_texts(session), now)
        handler(turn)
        result = Handled()
        if turn.replies:
            outbound = queue_outbound(
                session,
                customer,
                messages=turn.replies[:MAX_MESSAGES_PER_REQUEST],
                sender="bot",
                now=now,
                reply_token=event.reply_token,
                reply_token_expires_at=event.reply_token_expires_at,
            )
            claim_new(outbound, now, SEND_LEASE)
            session.flush()
            result.outbound.append(job_for(outbound, customer.line_user_id, now))
        if customer.profile_status == PROFILE_PENDING and customer.profile_attempts == 0:
            result.profile_customer_id = customer.id
        finish_event(session, row, EVENT_DONE, now)
        return result

    def _after_commit(self, result: Handled) -> None:
        """Talk to LINE: replies first (the token is short-lived), then the profile."""
        for job in result.outbound:
            self.deliverer.deliver(job.interaction_id, first_job=job)
        if result.profile_customer_id is not None:
            self.profiles.sync(result.profile_customer_id)
