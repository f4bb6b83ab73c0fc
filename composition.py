"""The composition root: the services one process shares, built from its settings.

Every process type (the web app, the event worker, the scheduler, commands) builds its services
here; nothing below this module reaches up into an entry point.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.line_client import LineClient
from crm.db import Database
from crm.settings import Settings


@dataclass
class Services:
    """Built once per process."""

    settings: Settings
    db: Database
    line: LineClient


def build_services(settings: Settings) -> Services:
    """The database and the LINE client one process shares."""
    line = LineClient(
        settings.line_channel_access_token,
        settings.line_api_host,
        settings.line_timeout,
        pool_size=settings.send_threads,
    )
    return Services(settings, Database(settings.database_url), line)
