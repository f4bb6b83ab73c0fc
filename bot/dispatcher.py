"""Background workers: handle stored events soon after the 200 went out.

The webhook only stores events and calls `notify` (or, with PROCESS_EVENTS=worker, leaves them to
`python -m bot.worker`). A few batch threads take lanes from a queue, many at a time, and handle
each batch in one transaction; a pool of sender threads then talks to LINE for the batch's lanes
at once, since a LINE call is mostly waiting. A poller re-finds work the queue does not know about
(events stored by another process or by a worker that died, replies whose retry came due,
profiles to fetch), so nothing stored is ever left behind; while it finds work it looks again
soon.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

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
LANES_PER_BATCH = 8  # lanes handled in one transaction: fewer commits, short write-lock holds
THREADS_PER_BATCHER = 8  # sender threads per batch thread
BUSY_POLL_SECONDS = 0.05  # the sweep's interval while it keeps finding work


class Dispatcher:
    """Batch threads and a sender pool, fed by webhook notifications and a periodic sweep.

    `workers` is how many threads talk to LINE at once (WEBHOOK_WORKERS).
    """

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
        self.batchers = max(1, workers // THREADS_PER_BATCHER)
        self.poll_interval = poll_interval
        self.worker_prefix = f"{socket.gethostname()}:{os.getpid()}"
        self._queue: queue.Queue = queue.Queue()
        self._queued: set[tuple[str, object]] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pool: ThreadPoolExecutor | None = None

    @property
    def running(self) -> bool:
        return bool(self._threads)

    def start(self) -> None:
        """Start the workers and the poller once (safe to call from every request)."""
        with self._lock:
            if self._threads:
                return
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="line-sender")
            for number in range(self.batchers):
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
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def notify(self, lanes: Iterable[str]) -> None:
        """New events were stored for these lanes."""
        for lane in lanes:
            self._enqueue(LANE, lane)

    def deliver_soon(self, interaction_id: int) -> None:
        """A message was queued outside event handling (a staff reply): send it now."""
        self.start()
        self._enqueue(OUTBOUND, interaction_id)

    def _enqueue(self, kind: str, key: object) -> None:
        with self._lock:
            if (kind, key) in self._queued:
                return
            self._queued.add((kind, key))
        self._queue.put((kind, key))

    def _work(self) -> None:
        worker_id = f"{self.worker_prefix}:{threading.current_thread().name}"
        while not self._stop.is_set():
            tasks = self._take_batch()
            for kind, key in tasks:
                if kind != LANE:
                    self._pool.submit(self._run, kind, key, worker_id)
            lanes = [key for kind, key in tasks if kind == LANE]
            if lanes:
                self._run_lanes(lanes, worker_id, self._pool)

    def _take_batch(self) -> list[tuple[str, object]]:
        """Wait for one task, then take whatever else is queued, up to a batch."""
        try:
            tasks = [self._queue.get(timeout=0.5)]
        except queue.Empty:
            return []
        while len(tasks) < LANES_PER_BATCH:
            try:
                tasks.append(self._queue.get_nowait())
            except queue.Empty:
                break
        with self._lock:
            self._queued.difference_update(tasks)
        return tasks

    def _run_lanes(self, lanes: list, worker_id: str, pool: ThreadPoolExecutor | None) -> None:
        """Handle a batch of lanes; a failure is logged and the sweep will find them again."""
        try:
            self.processor.run_lanes(lanes, worker_id, pool)
        except Exception:
            log.exception("background batch of %d lanes failed", len(lanes))

    def _run(self, kind: str, key: object, worker_id: str) -> None:
        """Run one task; a failure is logged and the sweep will find the work again."""
        try:
            self.runners[kind](key)
        except Exception:
            log.exception("background %s task %s failed", kind, key)

    def _poll(self) -> None:
        delay = self.poll_interval
        while not self._stop.wait(delay):
            found = []
            try:
                found = self.find_work()
                for kind, key in found:
                    self._enqueue(kind, key)
            except Exception:
                log.exception("sweep for pending work failed")
            delay = min(self.poll_interval, BUSY_POLL_SECONDS) if found else self.poll_interval

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
            lanes = [key for kind, key in work if kind == LANE]
            for start in range(0, len(lanes), LANES_PER_BATCH):
                self._run_lanes(lanes[start : start + LANES_PER_BATCH], worker_id, None)
            for kind, key in work:
                if kind != LANE:
                    self._run(kind, key, worker_id)
            ran += len(work)
        return ran
