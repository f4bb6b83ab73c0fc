"""The services one process shares, and the session one request uses (Flask's app and request
contexts). Below the inbox, the API and web/, which all reach the database through it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, g
from sqlalchemy.orm import Session

if TYPE_CHECKING:  # for the annotation only: bot/webhook.py imports this module
    from composition import Services

EXTENSION_KEY = "line_crm"


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
