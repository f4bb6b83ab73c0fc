"""HTTP errors by area: JSON under /api/v1, a page in the staff's language under /inbox, Flask's
default elsewhere. One handler, so an unknown path or a wrong method gets its area's answer."""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import HTTPException

import api
from inbox.web import inbox_error, is_inbox_request

ERROR_RESPONDERS = (
    (api.is_api_request, api.http_error),
    (is_inbox_request, inbox_error),
)


def http_error(exc: HTTPException):
    for in_area, respond in ERROR_RESPONDERS:
        if in_area():
            return respond(exc)
    return exc


def register_error_pages(app: Flask) -> None:
    app.register_error_handler(HTTPException, http_error)
