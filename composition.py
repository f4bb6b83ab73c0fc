"""The composition root: the services one process shares, built from its settings.

Every process type (the web app, the event worker, the scheduler, commands) builds its services
here; nothing below this module reaches up into an entry point.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.delivery import Deliverer
from bot.dispatcher import Dispatcher
from bot.line_client import LineClient
from bot.processing import EventProcessor
from bot.profiles import ProfileSync
from crm.db import Database
from crm.settings import Settings


@dataclass
class Services:
    """Built once per process."""

    settings: Settings
    db: Database
    line: LineClient
    dispatcher: Dispatcher


def build_services(settings: Settings) -> Services:
    """The database, LINE client and background workers one process shares."""
    db = Database(settings.database_url)
    line = LineClient(
        settings.line_channel_access_token, settings.line_api_host, settings.line_timeout
    )
    deliverer = Deliverer(db, line)
    profiles = ProfileSync(db, line)
    lease = timedelta(seconds=settings.lane_lease_seconds)
    processor = EventProcessor(db, deliverer, profiles, lease, settings.shop_timezone)
    dispatcher = Dispatcher(
        db, processor, deliverer, profiles, settings.webhook_workers, settings.poll_interval
    )
    return Services(settings, db, line, dispatcher)
