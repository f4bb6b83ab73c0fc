"""The scheduler process: APScheduler jobs plus the campaign senders.

The jobs are plain functions (scheduler/jobs.py) that find due work in the database; the
database, not APScheduler's memory, is the truth, so a restart or a second scheduler started
by mistake repeats nothing. Events and one-to-one messages are not the scheduler's: the worker
(`python -m worker`) finds those itself.

    python -m scheduler                 jobs + CAMPAIGN_SENDERS sender loops (one per deployment)
    python -m scheduler --sender-only   sender loops only: add these on PostgreSQL for big sends
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.campaign_sending import CampaignSender
from composition import Services, build_services
from crm.settings import Settings
from scheduler.jobs import campaign_tick, flow_upkeep, loyalty_upkeep, rich_menu_links

log = logging.getLogger("scheduler")

IDLE_SECONDS = 0.5  # a sender with nothing to send looks again after this
ERROR_PAUSE_SECONDS = 2.0


@dataclass(frozen=True)
class Job:
    """A product job: what to run with the process's services, and how often."""

    run: Callable[[Services], object]
    seconds: int


# Product jobs (campaigns, step messages, reminders, RFM) register here by id.
JOBS: dict[str, Job] = {
    "flow_upkeep": Job(flow_upkeep, seconds=60),
    "campaign_tick": Job(campaign_tick, seconds=5),
    "loyalty_upkeep": Job(loyalty_upkeep, seconds=60),
    "rich_menu_links": Job(rich_menu_links, seconds=60),
}


def build_scheduler(settings: Settings, jobs: dict[str, Job] = JOBS) -> BlockingScheduler:
    """A scheduler with every periodic job registered."""
    scheduler = BlockingScheduler(timezone="UTC")
    add_jobs(scheduler, build_services(settings), jobs)
    return scheduler


def add_jobs(scheduler: BaseScheduler, services: Services, jobs: dict[str, Job] = JOBS) -> None:
    """Register the jobs on a scheduler (`make run` uses a background one in its process)."""
    for job_id, job in jobs.items():
        scheduler.add_job(
            job.run,
            "interval",
            args=[services],
            seconds=job.seconds,
            id=job_id,
            next_run_time=datetime.now(UTC),  # at start too: a restart picks up at once
            max_instances=1,
            coalesce=True,
        )


class SenderLoops:
    """Campaign sender loops in threads of their own, sharing one pool of LINE calls."""

    def __init__(self, services: Services, loops: int):
        settings = services.settings
        self._pool = ThreadPoolExecutor(settings.send_threads, thread_name_prefix="campaign")
        self.sender = CampaignSender(
            services.db,
            services.line,
            self._pool,
            multicast_per_second=settings.multicast_per_second,
            push_per_second=settings.push_per_second,
            lease=timedelta(seconds=settings.campaign_lease_seconds),
            base_url=settings.public_base_url,
        )
        self.loops = loops
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for number in range(self.loops):
            thread = threading.Thread(target=self._loop, name=f"sender-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 15.0) -> None:
        """Finish the rounds under way (their outcomes are recorded), then stop."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def request_stop(self) -> None:
        self._stop.set()

    def wait(self) -> None:
        self._stop.wait()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                found = self.sender.send_round()
            except Exception:
                log.exception("campaign sender round failed; trying again shortly")
                self._stop.wait(ERROR_PAUSE_SECONDS)
                continue
            if not found:
                self._stop.wait(IDLE_SECONDS)


def main(argv: list[str] | None = None) -> None:
    """Start the scheduler (or only senders) in the foreground until SIGTERM or Ctrl-C."""
    from dotenv import load_dotenv

    parser = argparse.ArgumentParser(prog="python -m scheduler")
    parser.add_argument(
        "--sender-only", action="store_true", help="run campaign senders only (no jobs)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    load_dotenv()
    settings = Settings.from_env()
    services = build_services(settings)
    senders = SenderLoops(services, settings.campaign_senders)
    senders.start()
    if args.sender_only:
        signal.signal(signal.SIGTERM, lambda *_: senders.request_stop())
        log.info("campaign sender started (%d loops)", settings.campaign_senders)
        with contextlib.suppress(KeyboardInterrupt):
            senders.wait()
        senders.stop()
        return
    scheduler = BlockingScheduler(timezone="UTC")
    add_jobs(scheduler, services)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    log.info("scheduler started with jobs: %s", ", ".join(JOBS))
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    senders.stop()
