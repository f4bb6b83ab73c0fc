"""Handles stored webhook events lane by lane: one customer's events one at a time, in order.

Lanes are taken in batches: one transaction takes the lanes' locks and handles their pending
events (customer change, inbound interaction, queued reply, event marked done; a savepoint per
event, so a handler that raises fails only its own event). LINE is called only after it commits,
each lane's replies in order, and a second transaction writes the outcomes back and releases the
lanes. Two write transactions per batch instead of four per event: on SQLite every write
transaction queues for the one write lock that acknowledging webhooks needs too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.exc import OperationalError

from bot.delivery import SEND_LEASE, Delivered, Deliverer, OutboundJob, job_for
from bot.events import read_event
from bot.handlers import EVENT_HANDLERS, Turn
from bot.profiles import FetchedProfile, ProfileSync
from crm.bot_texts import load_texts
from crm.clock import utcnow
from crm.customers import get_or_register_customer
from crm.db import Database
from crm.inbound_events import (
    acquire_lanes,
    fail_event,
    finish_events,
    pending_events_of_lanes,
    release_lanes,
)
from crm.interactions import queue_outbound
from crm.models import EVENT_DONE, EVENT_IGNORED, PROFILE_PENDING
from crm.outbox import claim_new

log = logging.getLogger(__name__)

MAX_MESSAGES_PER_REQUEST = 5
EVENTS_PER_LANE = 2  # per round: bounds a batch's transaction and the lease a lane needs


@dataclass
class LaneWork:
    """What one lane's round left to do after its transaction committed."""

    lane_key: str
    events: int = 0
    outbound: list[OutboundJob] = field(default_factory=list)
    profile_customer_ids: list[int] = field(default_factory=list)

    def add(self, job: OutboundJob | None, profile_customer_id: int | None) -> None:
        """Count one handled event and what it left to send or fetch."""
        self.events += 1
        if job is not None:
            self.outbound.append(job)
        if profile_customer_id is not None:
            self.profile_customer_ids.append(profile_customer_id)

    @property
    def talks_to_line(self) -> bool:
        return bool(self.outbound or self.profile_customer_ids)


class HandlerFailed(RuntimeError):
    """A handler raised during a round handled without savepoints."""


class EventProcessor:
    """Runs lanes: acquire, handle their pending events, deliver their replies, release."""

    def __init__(
        self,
        db: Database,
        deliverer: Deliverer,
        profiles: ProfileSync,
        lease: timedelta = timedelta(seconds=60),
        default_timezone: str = "Asia/Tokyo",
    ):
        self.db = db
        self.deliverer = deliverer
        self.profiles = profiles
        self.lease = lease
        self.default_timezone = default_timezone  # SHOP_TIMEZONE, for business hours

    def run_lane(self, lane_key: str, worker_id: str) -> int:
        """Handle every pending event of one lane; returns how many. 0 if the lane is busy."""
        return self.run_lanes([lane_key], worker_id)

    def run_lanes(
        self, lane_keys: Iterable[str], worker_id: str, pool: Executor | None = None
    ) -> int:
        """Handle every pending event of these lanes (the busy ones are skipped); returns how
        many. With a pool, different lanes talk to LINE at the same time."""
        keys = sorted(set(lane_keys))
        handled = 0
        while keys:
            work = self._handle_round(keys, worker_id)
            handled += sum(lane.events for lane in work)
            self._deliver_round(work, worker_id, pool)
            # A lane that filled its round may have more; one that came up short is empty.
            keys = [lane.lane_key for lane in work if lane.events == EVENTS_PER_LANE]
        return handled

    def _handle_round(self, keys: list[str], worker_id: str) -> list[LaneWork]:
        """Handle a round without savepoints (they cost as much as the rest of an event); if a
        handler raises, roll the round back and handle it again one savepoint per event."""
        try:
            return self._handle_round_once(keys, worker_id, careful=False)
        except HandlerFailed:
            return self._handle_round_once(keys, worker_id, careful=True)

    def _handle_round_once(self, keys: list[str], worker_id: str, careful: bool) -> list[LaneWork]:
        """One transaction: take the free lanes and handle up to EVENTS_PER_LANE events each."""
        with self.db.transaction(background=True) as session:
            now = utcnow()
            acquired = acquire_lanes(session, keys, worker_id, now, self.lease)
            work = {key: LaneWork(key) for key in acquired}
            rows = pending_events_of_lanes(session, acquired, EVENTS_PER_LANE)
            texts = load_texts(session) if rows else {}
            handle = self._handle_in_savepoint if careful else self._handle_or_give_up
            finished: dict[str, list[int]] = {EVENT_DONE: [], EVENT_IGNORED: []}
            for row in rows:
                status, job, profile_customer_id = handle(session, row, now, texts)
                if status is not None:
                    finished[status].append(row.id)
                work[row.lane_key].add(job, profile_customer_id)
            for status, event_ids in finished.items():
                finish_events(session, event_ids, status, now)
            # Lanes with nothing to send are done; the others stay ours until LINE answered.
            quiet = [key for key, lane in work.items() if not lane.talks_to_line]
            release_lanes(session, quiet, worker_id)
        return list(work.values())

    def _handle_or_give_up(self, session, row, now, texts) -> tuple:
        """Handle one event; any handler error abandons the round (see `_handle_round`)."""
        try:
            return self._handle(session, row, now, texts)
        except OperationalError:
            raise  # the database is unreachable: the round rolls back, events stay pending
        except Exception as exc:
            raise HandlerFailed(row.id) from exc

    def _handle_in_savepoint(self, session, row, now, texts) -> tuple:
        """Handle one event inside a savepoint; a handler that raises fails only this event."""
        try:
            with session.begin_nested():
                return self._handle(session, row, now, texts)
        except OperationalError:
            raise
        except Exception as exc:
            log.exception("event %s failed; kept as failed for inspection", row.id)
            fail_event(session, row.id, f"{type(exc).__name__}: {exc}", now)
            return None, None, None

    def _handle(self, session, row, now, texts) -> tuple[str, OutboundJob | None, int | None]:
        """Route one event to its handler and queue the reply it produced; returns the event's
        new status, the reply to send and the customer whose profile to fetch, if any."""
        event = read_event(row.payload, row.webhook_event_id, row.occurred_at, row.received_at)
        handler = EVENT_HANDLERS.get(event.type)
        if handler is None or event.user_id is None:
            return EVENT_IGNORED, None, None
        customer = get_or_register_customer(session, event.user_id, event.occurred_at)
        if customer.id is None:
            session.flush()  # a new customer: the handler's rows need its id
        turn = Turn(session, event, customer, texts, now, default_timezone=self.default_timezone)
        handler(turn)
        job = None
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
            job = job_for(outbound, customer.line_user_id, now)
        new_profile = customer.profile_status == PROFILE_PENDING and not customer.profile_attempts
        return EVENT_DONE, job, customer.id if new_profile else None

    def _deliver_round(self, work: list[LaneWork], worker_id: str, pool: Executor | None):
        """Talk to LINE for every lane, then write the outcomes and release in one transaction."""
        talking = [lane for lane in work if lane.talks_to_line]
        if not talking:
            return
        runner: Callable = pool.map if pool is not None else map
        answers = list(runner(self._talk_to_line, talking))
        with self.db.transaction(background=True) as session:
            self.deliverer.record_delivered(session, [d for sent, _ in answers for d in sent])
            self.profiles.record(session, [p for _, fetched in answers for p in fetched])
            release_lanes(session, [lane.lane_key for lane in talking], worker_id)

    def _talk_to_line(self, lane: LaneWork) -> tuple[list[Delivered], list[FetchedProfile]]:
        """The lane's replies in order (the tokens are short-lived), then profiles."""
        delivered, fetched = [], []
        for job in lane.outbound:
            try:
                if (done := self.deliverer.deliver_claimed(job)) is not None:
                    delivered.append(done)
            except Exception:
                # The row stays `sending` until its lease ends; the sweep retries it then.
                log.exception("delivering message %s failed", job.interaction_id)
        for customer_id in dict.fromkeys(lane.profile_customer_ids):
            try:
                if (profile := self.profiles.fetch(customer_id)) is not None:
                    fetched.append(profile)
            except Exception:
                log.exception("profile fetch of customer %s failed", customer_id)
        return delivered, fetched
