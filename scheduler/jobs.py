"""The scheduler's product jobs: plain functions of the process's services."""

from __future__ import annotations

import logging

from bot.flow_turns import remind_quiet_runs
from composition import Services
from crm.clock import utcnow
from crm.flows import expire_runs

log = logging.getLogger(__name__)


def flow_upkeep(services: Services) -> None:
    """Runs past their time expire; quiet runs get their one reminder (pushed by the worker)."""
    with services.db.transaction(background=True) as session:
        now = utcnow()
        expired = expire_runs(session, now)
        reminded = remind_quiet_runs(session, now)
    if expired or reminded:
        log.info("flows: %d runs expired, %d reminded", expired, reminded)
