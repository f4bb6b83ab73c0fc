"""The staff inbox under /inbox: its blueprints, and what runs around every inbox request."""

from __future__ import annotations

from flask import Flask, g, render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from inbox import (
    auth_views,
    campaign_views,
    conversation_views,
    customer_views,
    faq_editor,
    inquiry_report,
    inquiry_settings,
    loyalty_counter,
    loyalty_coupons,
    loyalty_panel,
    loyalty_programs,
    loyalty_report,
    rich_menu_views,
    segment_views,
    settings_views,
    survey_views,
)
from inbox.field_messages import field_message
from inbox.i18n import init_i18n, select_language
from inbox.loyalty_texts import event_line
from inbox.security import add_security_headers, check_csrf, csrf_token, load_signed_in_staff
from inbox.text_rendering import linkify

BLUEPRINTS = (
    auth_views.bp,
    conversation_views.bp,
    customer_views.bp,
    settings_views.bp,
    survey_views.bp,
    segment_views.bp,
    campaign_views.bp,
    loyalty_counter.bp,
    loyalty_panel.bp,
    loyalty_programs.bp,
    loyalty_coupons.bp,
    loyalty_report.bp,
    rich_menu_views.bp,
    faq_editor.bp,
    inquiry_settings.bp,
    inquiry_report.bp,
)
ERROR_TITLES = {
    400: _l("The request could not be processed."),
    403: _l("Only admins can open this page."),
    404: _l("Not found."),
    409: _l("Someone else changed this first. Reload the page."),
}


def is_inbox_request() -> bool:
    return request.path.startswith("/inbox")


def _before_inbox_request():
    if is_inbox_request() and request.endpoint != "inbox_auth.static":
        load_signed_in_staff()
        check_csrf()


def _after_inbox_request(response):
    return add_security_headers(response) if is_inbox_request() else response


def inbox_error(exc: HTTPException):
    """An inbox error as a page in the staff's language."""
    title = str(ERROR_TITLES.get(exc.code, exc.name))
    detail = exc.description if exc.code == 400 else None
    return render_template("inbox/error.html", code=exc.code, title=title, detail=detail), exc.code


def register_inbox(app: Flask) -> None:
    """Attach the inbox: i18n, blueprints, sign-in, CSRF, headers (its error pages are served
    through web/errors.py)."""
    init_i18n(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.before_request(_before_inbox_request)
    app.after_request(_after_inbox_request)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["current_staff"] = lambda: g.get("staff")
    app.jinja_env.globals["current_language"] = select_language
    app.jinja_env.filters["linkify"] = linkify
    app.jinja_env.filters["field_message"] = field_message
    app.jinja_env.globals["event_line"] = event_line
