"""Staff sign-in state, CSRF protection, role checks and security headers for /inbox."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps

from flask import abort, g, redirect, request, session, url_for
from flask_babel import gettext as _

from crm.clock import utcnow
from crm.staff import count_staff
from crm.staff_sessions import SessionLimits, find_live_session, needs_touch, touch_session
from request_scope import request_session, services

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: {images}; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)


def session_limits() -> SessionLimits:
    """Idle and absolute session lifetimes from the settings."""
    settings = services().settings
    return SessionLimits(settings.staff_idle_timeout, settings.staff_session_lifetime)


def load_signed_in_staff() -> None:
    """Before each inbox request: who is signed in (g.staff), renewing the idle timer."""
    g.staff = g.staff_session = None
    token = session.get("sid")
    if not token:
        return
    now = utcnow()
    row = find_live_session(request_session(), token, now, session_limits())
    if row is None:
        session.pop("sid", None)
        return
    g.staff, g.staff_session = row.staff, row
    if needs_touch(row, now):
        with services().db.transaction() as tx:
            touch_session(tx, row.id, now)


def csrf_token() -> str:
    """The session's CSRF token, created on first use; every form and htmx call sends it."""
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def check_csrf() -> None:
    """Refuse a state-changing request without the session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    expected = session.get(CSRF_FIELD)
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description=_("The form expired. Reload the page and try again."))


def rotate_csrf_token() -> None:
    """A new token at sign-in and sign-out, so one seen before cannot be replayed."""
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def login_required(view: Callable) -> Callable:
    """Views for signed-in staff; others go to sign-in (or first-admin setup)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("staff") is None:
            return _to_sign_in()
        return view(*args, **kwargs)

    return wrapped


def admin_required(view: Callable) -> Callable:
    """Views for admins only; checked on the server, whatever the page showed."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not g.staff.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _to_sign_in():
    if count_staff(request_session()) == 0:
        target = url_for("inbox_auth.setup")
    else:
        target = url_for(
            "inbox_auth.login", next=request.full_path if request.method == "GET" else None
        )
    if request.headers.get("HX-Request"):
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def add_security_headers(response):
    """CSP and friends on every inbox page; pages are never cached."""
    images = services().settings.line_api_host if services().settings.sandbox else ""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(
        images=f"https: {images}".strip()
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def client_address() -> str:
    """The caller's address (ProxyFix, when configured, makes it the real client's)."""
    return (request.remote_addr or "unknown")[:64]
