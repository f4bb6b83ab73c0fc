"""The services one process shares, and the session one request uses."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g
from sqlalchemy.orm import Session

from bot.dispatcher import Dispatcher
from bot.line_client import LineClient
from crm.db import Database
from crm.settings import Settings

EXTENSION_KEY = "line_crm"


@dataclass
class Services:
    """Built once per process by create_app."""

    settings: Settings
    db: Database
    line: LineClient
    dispatcher: Dispatcher


def services() -> Services:
    """The current app's services."""
    return current_app.extensions[EXTENSION_KEY]


def request_session() -> Session:
    """The request's read session, opened on first use and closed on teardown."""
    if "db_session" not in g:
        g.db_session = services().db.read_session()
    return g.db_session


def close_request_session(_exc: BaseException | None = None) -> None:
    """Teardown: close the request's session if one was opened."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
