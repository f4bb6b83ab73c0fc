"""APScheduler jobs. The jobs are plain functions in crm/; this module only registers and runs
them. Events and messages are not the scheduler's: the worker (`python -m worker`) finds
those in the database itself."""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from composition import Services, build_services
from crm.settings import Settings
from scheduler.jobs import flow_upkeep

log = logging.getLogger("scheduler")


@dataclass(frozen=True)
class Job:
    """A product job: what to run with the process's services, and how often."""

    run: Callable[[Services], object]
    seconds: int


# Product jobs (campaigns, step messages, reminders, RFM) register here by id.
JOBS: dict[str, Job] = {
    "flow_upkeep": Job(flow_upkeep, seconds=60),
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
            max_instances=1,
            coalesce=True,
        )


def main() -> None:
    """Start the scheduler in the foreground until SIGTERM or Ctrl-C."""
    from dotenv import load_dotenv

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    load_dotenv()
    scheduler = build_scheduler(Settings.from_env())
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    log.info("scheduler started with jobs: %s", ", ".join(JOBS) or "none yet")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
