"""`python -m worker`: the one process type that handles events and talks to LINE.

Web processes only store webhook events and staff replies; a worker finds them in the
database. It runs two loops: one handles pending events (`handle_pending_events`), the others
send due messages and fetch profiles (`send_due_messages`, `fetch_due_profiles`) while the
first goes on. Each loop looks again at once while it finds work and waits WORKER_POLL_MS
when it finds none. Any number of workers, on any number of hosts, can share one PostgreSQL
database: lanes are locked per transaction and rows are claimed with SKIP LOCKED.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from dotenv import load_dotenv

from bot.handling import handle_pending_events
from bot.sending import fetch_due_profiles, send_due_messages
from bot.turn import LoyaltyContext
from composition import Services, build_services
from crm.settings import Settings

log = logging.getLogger("worker")

ERROR_PAUSE_SECONDS = 1.0  # after a failed round (the database is away): don't spin


class Worker:
    """The loops of one worker process, in threads of their own."""

    def __init__(self, services: Services):
        self.services = services
        settings = services.settings
        self.poll_seconds = settings.worker_poll_ms / 1000
        self.send_loops = settings.send_loops
        self._pool = ThreadPoolExecutor(settings.send_threads, thread_name_prefix="line-call")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def handle_events(self) -> int:
        """One round of event handling."""
        settings = self.services.settings
        loyalty = LoyaltyContext(settings.secret_key, settings.public_base_url)
        return handle_pending_events(self.services.db, settings.shop_timezone, loyalty)

    def talk_to_line(self) -> int:
        """One round of sending and profile fetching."""
        db, line = self.services.db, self.services.line
        return send_due_messages(db, line, self._pool) + fetch_due_profiles(db, line, self._pool)

    def start(self) -> None:
        """Start the loops."""
        loops = [("handle-events", self.handle_events)]
        loops += [(f"send-{n}", self.talk_to_line) for n in range(self.send_loops)]
        for name, step in loops:
            thread = threading.Thread(target=self._loop, args=(step,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 15.0) -> None:
        """Finish the rounds under way, then stop."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self, step: Callable[[], int]) -> None:
        """Run `step` again at once while it finds work; pause when it finds none or fails."""
        while not self._stop.is_set():
            try:
                found = step()
            except Exception:
                log.exception("worker round failed; trying again shortly")
                self._stop.wait(ERROR_PAUSE_SECONDS)
                continue
            if not found:
                self._stop.wait(self.poll_seconds)


def main() -> None:
    """Run a worker until SIGTERM or Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    load_dotenv()
    services = build_services(Settings.from_env())
    with contextlib.suppress(AttributeError, OSError):
        os.nice(5)  # web processes answer LINE first when both want the CPU
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    worker = Worker(services)
    worker.start()
    log.info(
        "worker started: %d sender loops, %d LINE calls at once, polling every %d ms",
        services.settings.send_loops,
        services.settings.send_threads,
        services.settings.worker_poll_ms,
    )
    with contextlib.suppress(KeyboardInterrupt):
        stopping.wait()
    worker.stop()
    services.line.close()
    services.db.dispose()


if __name__ == "__main__":
    main()
