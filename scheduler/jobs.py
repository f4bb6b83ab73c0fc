"""The scheduler's product jobs: plain functions of the process's services."""

from __future__ import annotations

import logging

from bot.flow_turns import remind_quiet_runs
from composition import Services
from crm.clock import utcnow
from crm.delivery import defer_for_quiet_hours, finish_runs, start_due_runs
from crm.flows import expire_runs
from crm.politeness import load_politeness

log = logging.getLogger(__name__)


def flow_upkeep(services: Services) -> None:
    """Runs past their time expire; quiet runs get their one reminder (pushed by the worker)."""
    with services.db.transaction(background=True) as session:
        now = utcnow()
        expired = expire_runs(session, now)
        reminded = remind_quiet_runs(session, now)
    if expired or reminded:
        log.info("flows: %d runs expired, %d reminded", expired, reminded)


def campaign_tick(services: Services) -> None:
    """Due campaigns start a run (recipients written at once); quiet hours defer what is left;
    runs with nobody left to send are closed. The senders do the sending."""
    with services.db.transaction(background=True) as session:
        now = utcnow()
        rules = load_politeness(session)
        started = start_due_runs(session, now, rules)
        deferred = defer_for_quiet_hours(session, now, rules)
        finished = finish_runs(session, now)
    if started or deferred or finished:
        log.info(
            "campaigns: runs started %s, %d recipients deferred, runs finished %s",
            started,
            deferred,
            finished,
        )
