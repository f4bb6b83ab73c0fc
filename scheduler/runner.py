"""APScheduler jobs. The jobs are plain functions; this module only registers and runs them."""

from __future__ import annotations

import contextlib
import logging
import signal

from apscheduler.schedulers.blocking import BlockingScheduler

from composition import build_services
from crm.settings import Settings

log = logging.getLogger("scheduler")

RECOVERY_INTERVAL_SECONDS = 5


def build_scheduler(settings: Settings) -> BlockingScheduler:
    """A scheduler with every periodic job registered."""
    services = build_services(settings)
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        services.dispatcher.drain,
        "interval",
        seconds=RECOVERY_INTERVAL_SECONDS,
        id="recover-pending-work",
        max_instances=1,
        coalesce=True,
    )
    return scheduler


def main() -> None:
    """Start the scheduler in the foreground until SIGTERM or Ctrl-C."""
    from dotenv import load_dotenv

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    load_dotenv()
    scheduler = build_scheduler(Settings.from_env())
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    log.info(
        "scheduler started: recovering pending events and due messages every %ss",
        RECOVERY_INTERVAL_SECONDS,
    )
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
