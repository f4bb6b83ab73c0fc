"""Sign-in, sign-out, first-admin setup and the staff member's own language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from crm.clock import utcnow
from crm.login import attempt_login
from crm.models import ROLE_ADMIN, Staff
from crm.staff import (
    StaffError,
    count_staff,
    create_staff,
    password_matches,
    set_language,
    set_password,
)
from crm.staff_line import issue_link_code, unlink
from crm.staff_sessions import revoke_all_sessions, revoke_session, start_session
from inbox.errors import error_text
from inbox.security import client_address, login_required, rotate_csrf_token
from inbox.staff_actions import staff_change
from request_scope import request_session, services

bp = Blueprint(
    "inbox_auth",
    __name__,
    url_prefix="/inbox",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@bp.get("/")
def home():
    """The inbox's front door: the chats that need a reply."""
    return redirect(url_for("inbox_conversations.index"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    """Create the first admin; offered only while no staff account exists."""
    if count_staff(request_session()) > 0:
        return redirect(url_for("inbox_auth.login"))
    error = None
    if request.method == "POST":
        error = _create_first_admin()
        if error is None:
            return redirect(url_for("inbox_conversations.index"))
    return render_template("inbox/setup.html", error=error), 400 if error else 200


def _create_first_admin() -> str | None:
    form = request.form
    if form.get("password", "") != form.get("password_confirm", ""):
        return error_text("passwords_differ")
    try:
        with staff_change("staff.create_first_admin") as (tx, detail):
            if count_staff(tx) > 0:  # another browser finished setup first
                abort(409)
            staff = create_staff(
                tx,
                form.get("email", ""),
                form.get("password", ""),
                ROLE_ADMIN,
                form.get("display_name", ""),
            )
            detail["email"] = staff.email
            g.staff = staff
            _sign_in(tx, staff)
    except StaffError as exc:
        return error_text(str(exc))
    return None


def _sign_in(tx, staff: Staff) -> None:
    token = start_session(tx, staff, utcnow(), client_address(), request.headers.get("User-Agent"))
    session.clear()
    session.permanent = True
    session["sid"] = token
    rotate_csrf_token()


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password; repeated failures are throttled."""
    if count_staff(request_session()) == 0:
        return redirect(url_for("inbox_auth.setup"))
    if request.method == "GET":
        return render_template("inbox/login.html", error=None)
    email = request.form.get("email", "")
    with services().db.transaction() as tx:
        result = attempt_login(
            tx, email, request.form.get("password", ""), client_address(), utcnow()
        )
        if result.staff is not None:
            _sign_in(tx, result.staff)
    if result.staff is None:
        return render_template("inbox/login.html", error=_login_error(result), email=email), 401
    return redirect(_safe_next(request.args.get("next")))


def _login_error(result) -> str:
    if result.problem == "throttled":
        minutes = max(1, int(result.retry_after.total_seconds() // 60) + 1)
        return _("Too many failed sign-ins. Try again in %(minutes)d minutes.", minutes=minutes)
    return _("Wrong e-mail or password.")


def _safe_next(target: str | None) -> str:
    """Only a path inside the inbox; never another site (open redirect)."""
    if target and target.startswith("/inbox") and not urlsplit(target).netloc:
        return target
    return url_for("inbox_conversations.index")


@bp.post("/logout")
def logout():
    """Sign out: the session stops working at once, on the server too."""
    token = session.get("sid")
    if token:
        with services().db.transaction() as tx:
            revoke_session(tx, token, utcnow())
    session.clear()
    flash(_("Signed out."))
    return redirect(url_for("inbox_auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    """A staff member changes their own password; other browsers are signed out."""
    error = None
    if request.method == "POST":
        error = _change_own_password(request.form)
        if error is None:
            flash(_("Password changed. Other browsers were signed out."), "ok")
            return redirect(url_for("inbox_auth.account"))
    return render_template("inbox/account.html", error=error), 400 if error else 200


def _change_own_password(form) -> str | None:
    if not password_matches(g.staff, form.get("current_password", "")):
        return _("The current password is wrong.")
    if form.get("new_password", "") != form.get("new_password_confirm", ""):
        return error_text("passwords_differ")
    try:
        with staff_change("staff.password", ("staff", g.staff.id)) as (tx, _detail):
            staff = tx.get(Staff, g.staff.id)
            set_password(staff, form.get("new_password", ""))
            revoke_all_sessions(tx, staff.id, utcnow())
            _sign_in(tx, staff)
    except StaffError as exc:
        return error_text(str(exc))
    return None


@bp.post("/account/line")
@login_required
def link_line():
    """A one-time code the staff member sends to the bot from their own LINE."""
    with staff_change("staff.line_code", ("staff", g.staff.id)) as (tx, _detail):
        code = issue_link_code(tx.get(Staff, g.staff.id), utcnow())
    message = _("Send this code to the shop's LINE account within 10 minutes: %(code)s", code=code)
    flash(message, "ok")
    return redirect(url_for("inbox_auth.account"))


@bp.post("/account/line/unlink")
@login_required
def unlink_line():
    with staff_change("staff.line_unlinked", ("staff", g.staff.id)) as (tx, _detail):
        unlink(tx.get(Staff, g.staff.id))
    return redirect(url_for("inbox_auth.account"))


@bp.post("/language")
@login_required
def change_language():
    """Switch the inbox between Japanese and English for this staff member."""
    try:
        with staff_change("staff.language", ("staff", g.staff.id)) as (tx, detail):
            staff = tx.get(Staff, g.staff.id)
            set_language(staff, request.form.get("language", ""))
            detail["language"] = staff.language
    except StaffError:
        abort(400)
    return redirect(_safe_next(request.form.get("next")))
