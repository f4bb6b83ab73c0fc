"""Background workers of a web process: handle stored events soon after the 200 went out.

The webhook only stores events and calls `notify`. Worker threads take lanes from a queue; a
poller re-finds work the queue does not know about (events stored by a worker that died, replies
whose retry came due, profiles to fetch), so nothing stored is ever left behind.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Iterable

from bot.delivery import Deliverer
from bot.processing import EventProcessor
from bot.profiles import ProfileSync
from crm.clock import utcnow
from crm.customers import customers_needing_profile
from crm.db import Database
from crm.inbound_events import lanes_with_pending_events
from crm.outbox import due_outbound_ids

log = logging.getLogger(__name__)

LANE, OUTBOUND, PROFILE = "lane", "outbound", "profile"


class Dispatcher:
    """A pool of worker threads fed by webhook notifications and a periodic sweep."""

    def __init__(
        self,
        db: Database,
        processor: EventProcessor,
        deliverer: Deliverer,
        profiles: ProfileSync,
        workers: int,
        poll_interval: float,
    ):
        self.db = db
        self.runners = {OUTBOUND: deliverer.deliver, PROFILE: profiles.sync}
        self.processor = processor
        self.workers = workers
        self.poll_interval = poll_interval
        self.worker_prefix = f"{socket.gethostname()}:{os.getpid()}"
        self._queue: queue.Queue = queue.Queue()
        self._queued: set[tuple[str, object]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def running(self) -> bool:
        return bool(self._threads)

    def start(self) -> None:
        """Start the workers and the poller once (safe to call from every request)."""
        with self._lock:
            if self._threads:
                return
            for number in range(self.workers):
                self._spawn(self._work, f"line-worker-{number}")
            self._spawn(self._poll, "line-poller")

    def _spawn(self, target, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking work and wait for the threads."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def notify(self, lanes: Iterable[str]) -> None:
        """New events were stored for these lanes."""
        for lane in lanes:
            self._enqueue(LANE, lane)

    def _enqueue(self, kind: str, key: object) -> None:
        with self._lock:
            if (kind, key) in self._queued:
                return
            self._queued.add((kind, key))
        self._queue.put((kind, key))

    def _work(self) -> None:
        worker_id = f"{self.worker_prefix}:{threading.current_thread().name}"
        while not self._stop.is_set():
            try:
                kind, key = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            with self._lock:
                self._queued.discard((kind, key))
            self._run(kind, key, worker_id)

    def _run(self, kind: str, key: object, worker_id: str) -> None:
        """Run one task; a failure is logged and the sweep will find the work again."""
        try:
            if kind == LANE:
                self.processor.run_lane(key, worker_id)
            else:
                self.runners[kind](key)
        except Exception:
            log.exception("background %s task %s failed", kind, key)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_interval):
            try:
                for kind, key in self.find_work():
                    self._enqueue(kind, key)
            except Exception:
                log.exception("sweep for pending work failed")

    def find_work(self) -> list[tuple[str, object]]:
        """Everything due now: lanes with pending events, replies to retry, profiles to fetch."""
        now = utcnow()
        with self.db.read_session() as session:
            lanes = lanes_with_pending_events(session, now)
            outbound = due_outbound_ids(session, now)
            profiles = [c.id for c in customers_needing_profile(session, now)]
        return (
            [(LANE, lane) for lane in lanes]
            + [(OUTBOUND, item) for item in outbound]
            + [(PROFILE, item) for item in profiles]
        )

    def drain(self, rounds: int = 50) -> int:
        """Do all due work in the calling thread (commands, tests); returns tasks run."""
        ran = 0
        worker_id = f"{self.worker_prefix}:drain"
        for _ in range(rounds):
            work = self.find_work()
            if not work:
                break
            for kind, key in work:
                self._run(kind, key, worker_id)
                ran += 1
        return ran
