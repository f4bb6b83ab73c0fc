"""The scheduler's product jobs: plain functions of the process's services."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from bot.flow_turns import remind_quiet_runs
from bot.rich_menu import sync_links
from composition import Services
from crm.clock import utcnow
from crm.db import Database
from crm.delivery import defer_for_quiet_hours, finish_runs, start_due_runs
from crm.flows import expire_runs
from crm.loyalty.coupons import expire_coupons
from crm.loyalty.reminders import BATCH, remind_coupons, remind_stamp_cards
from crm.loyalty.stamps import expire_cards
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


def loyalty_upkeep(services: Services) -> None:
    """Stamps and coupons past their time expire (each a ledger row); what is about to expire
    gets its one reminder (pushed by the worker). A batch per transaction, until none is due."""
    db, settings = services.db, services.settings
    zone, base_url = settings.shop_timezone, settings.public_base_url
    cards = _in_batches(db, lambda session, now: expire_cards(session, now, BATCH))
    codes = _in_batches(db, lambda session, now: expire_coupons(session, now, BATCH))
    reminded = _in_batches(
        db, lambda session, now: remind_stamp_cards(session, now, zone, base_url)
    ) + _in_batches(db, lambda session, now: remind_coupons(session, now, zone, base_url))
    if cards or codes or reminded:
        log.info("loyalty: %d cards and %d coupons expired, %d reminded", cards, codes, reminded)


def rich_menu_links(services: Services) -> None:
    """Customers who gained or lost a tag get their tag menu linked or unlinked on LINE, in
    bulk; a republished menu's customers move to its new LINE menu."""
    synced = sync_links(services.db, services.settings)
    if synced.linked or synced.unlinked or synced.errors:
        log.info(
            "rich menus: %d linked, %d unlinked, errors: %s",
            synced.linked,
            synced.unlinked,
            "; ".join(synced.errors) or "none",
        )


MAX_BATCHES = 100  # per run; the next run carries on


def _in_batches(db: Database, batch: Callable[[Session, datetime], int]) -> int:
    """Run `batch` in a transaction of its own until it finds less than a full batch."""
    total = 0
    for _ in range(MAX_BATCHES):
        with db.transaction(background=True) as session:
            done = batch(session, utcnow())
        total += done
        if done < BATCH:
            break
    return total
