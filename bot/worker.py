"""`python -m bot.worker`: a process that only handles stored events and sends messages.

Run one or more beside the web processes when PROCESS_EVENTS=worker (the Procfile's `worker`),
so that acknowledging webhooks never waits for CPU, the GIL or a database lock that event
handling is using. Workers find work by polling the database every EVENT_POLL_MS (default
100 ms in this mode, 50 ms while they keep finding work); the lanes and leases make any
number of them safe. WEBHOOK_WORKERS is how many of their threads talk to LINE at once.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

from dotenv import load_dotenv

from composition import build_services
from crm.settings import Settings

log = logging.getLogger("bot.worker")


def main() -> None:
    """Run the dispatcher until SIGTERM or Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    load_dotenv()
    settings = Settings.from_env()
    services = build_services(settings)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    services.dispatcher.start()
    log.info(
        "event worker started: %d sender threads, polling every %.2fs",
        settings.webhook_workers,
        settings.poll_interval,
    )
    with contextlib.suppress(KeyboardInterrupt):
        stopping.wait()
    services.dispatcher.stop()
    services.line.close()
    services.db.dispose()


if __name__ == "__main__":
    main()
