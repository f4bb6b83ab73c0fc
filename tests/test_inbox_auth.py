"""Staff accounts and security: first-admin setup, sign-in, throttling, sessions, CSRF, roles."""

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from crm.clock import utcnow
from crm.models import AuditEntry, Staff, Tag
from tests.conftest import STAFF_PASSWORD, csrf_from, sign_in


def _count(db, model) -> int:
    with db.read_session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_fresh_install_offers_first_admin_setup_and_only_then(client, db):
    assert client.get("/inbox/conversations").location.endswith("/inbox/setup")
    page = client.get("/inbox/setup")
    assert page.status_code == 200
    response = client.post(
        "/inbox/setup",
        data={
            "csrf_token": csrf_from(page.text),
            "email": "Owner@Shop.example ",
            "display_name": "店長",
            "password": STAFF_PASSWORD,
            "password_confirm": STAFF_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert client.get("/inbox/conversations").status_code == 200  # signed in at once
    with db.read_session() as session:
        [owner] = session.scalars(select(Staff)).all()
    assert (owner.email, owner.role) == ("owner@shop.example", "admin")
    assert owner.password_hash.startswith("$argon2id$")
    assert STAFF_PASSWORD not in owner.password_hash
    # Once an account exists, setup is gone, also for a direct POST.
    other = client.application.test_client()
    assert other.get("/inbox/setup").location.endswith("/inbox/login")
    token = csrf_from(other.get("/inbox/login").text)
    other.post(
        "/inbox/setup",
        data={
            "csrf_token": token,
            "email": "x@y.example",
            "password": "p" * 12,
            "password_confirm": "p" * 12,
        },
    )
    assert _count(db, Staff) == 1


def test_setup_refuses_weak_or_mismatched_passwords(client, db):
    token = csrf_from(client.get("/inbox/setup").text)
    for password, confirm in (("short", "short"), ("long enough 1", "long enough 2")):
        response = client.post(
            "/inbox/setup",
            data={
                "csrf_token": token,
                "email": "a@b.example",
                "password": password,
                "password_confirm": confirm,
            },
        )
        assert response.status_code == 400
    assert _count(db, Staff) == 0


def test_sign_in_and_a_failed_sign_in(client, make_staff):
    make_staff("clerk@shop.example", "agent")
    failed = sign_in(client, "clerk@shop.example", "wrong password")
    assert failed.status_code == 401
    assert "メールアドレスまたはパスワードが違います" in failed.text
    assert client.get("/inbox/conversations").status_code == 302
    assert sign_in(client, "CLERK@shop.example").status_code == 302
    assert client.get("/inbox/conversations").status_code == 200


def test_repeated_failures_lock_the_account_for_a_while(client, make_staff):
    make_staff("clerk@shop.example", "agent")
    for _ in range(5):
        assert sign_in(client, "clerk@shop.example", "guess").status_code == 401
    locked = sign_in(client, "clerk@shop.example")  # even the right password waits
    assert locked.status_code == 401
    assert "ログインの失敗が多すぎます" in locked.text
    with time_machine.travel(utcnow() + timedelta(minutes=16)):
        assert sign_in(client, "clerk@shop.example").status_code == 302


def test_one_address_guessing_many_accounts_is_throttled(client, make_staff):
    make_staff("real@shop.example", "agent")
    for number in range(20):
        sign_in(client, f"nobody{number}@shop.example", "guess")
    assert sign_in(client, "real@shop.example").status_code == 401


def test_session_cookie_flags(client, make_staff):
    make_staff()
    response = sign_in(client, "admin@shop.example")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_secure_cookie_outside_development(settings, make_staff):
    from app import create_app

    app = create_app(settings.with_changes(session_cookie_secure=True))
    client = app.test_client()
    make_staff()
    response = sign_in(client, "admin@shop.example")
    assert "Secure" in response.headers["Set-Cookie"]
    app.extensions["line_crm"].db.dispose()


def test_logout_invalidates_the_session_on_the_server(client, make_staff):
    make_staff()
    sign_in(client, "admin@shop.example")
    stolen_cookie = client.get_cookie("line_crm_session").value
    page = client.get("/inbox/conversations")
    client.post("/inbox/logout", data={"csrf_token": csrf_from(page.text)})
    replay = client.application.test_client()
    replay.set_cookie("line_crm_session", stolen_cookie)
    assert replay.get("/inbox/conversations").status_code == 302


def test_idle_and_absolute_timeouts(client, make_staff):
    make_staff()
    start = utcnow()
    with time_machine.travel(start, tick=False):
        sign_in(client, "admin@shop.example")
    with time_machine.travel(start + timedelta(minutes=100), tick=False):
        assert client.get("/inbox/conversations").status_code == 200  # renews idle timer
    with time_machine.travel(start + timedelta(minutes=100 + 121), tick=False):
        assert client.get("/inbox/conversations").status_code == 302  # idle too long
    sign_in(client, "admin@shop.example")
    again = utcnow()
    for hours in range(1, 12):
        with time_machine.travel(again + timedelta(hours=hours), tick=False):
            assert client.get("/inbox/conversations").status_code == 200
    with time_machine.travel(again + timedelta(hours=12, minutes=1), tick=False):
        assert client.get("/inbox/conversations").status_code == 302  # absolute limit


def test_state_changes_need_the_csrf_token(admin_client, db):
    for token in (None, "forged"):
        data = {"name": "VIP", "color": "#ff0000"}
        if token:
            data["csrf_token"] = token
        response = admin_client.post("/inbox/settings/tags", data=data)
        assert response.status_code == 400
    assert _count(db, Tag) == 0
    ok = admin_client.post(
        "/inbox/settings/tags",
        data={"name": "VIP", "color": "#ff0000", "csrf_token": admin_client.csrf},
    )
    assert ok.status_code == 302
    assert _count(db, Tag) == 1


def test_login_form_needs_csrf_too(client, make_staff):
    make_staff()
    response = client.post(
        "/inbox/login", data={"email": "admin@shop.example", "password": STAFF_PASSWORD}
    )
    assert response.status_code == 400


def test_agents_cannot_reach_admin_pages_or_exports(client, make_staff, db):
    make_staff()
    make_staff("clerk@shop.example", "agent", "クラーク")
    sign_in(client, "clerk@shop.example")
    token = csrf_from(client.get("/inbox/conversations").text)
    for path in (
        "/inbox/settings/staff",
        "/inbox/settings/tags",
        "/inbox/settings/shop",
        "/inbox/settings/audit",
        "/inbox/customers/export.csv",
    ):
        assert client.get(path).status_code == 403, path
    response = client.post(
        "/inbox/settings/staff",
        data={
            "csrf_token": token,
            "email": "evil@x.example",
            "password": "p" * 12,
            "role": "admin",
        },
    )
    assert response.status_code == 403
    assert _count(db, Staff) == 2
    assert "設定" not in client.get("/inbox/conversations").text.split("</nav>")[0]


def test_inbox_pages_carry_a_content_security_policy(admin_client):
    response = admin_client.get("/inbox/conversations")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Frame-Options"] == "DENY"


def test_admin_manages_staff_and_every_change_is_audited(admin_client, db):
    response = admin_client.post(
        "/inbox/settings/staff",
        data={
            "csrf_token": admin_client.csrf,
            "email": "new@shop.example",
            "password": "p" * 12,
            "role": "agent",
            "display_name": "新人",
        },
    )
    assert response.status_code == 302
    with db.read_session() as session:
        new = session.scalars(select(Staff).where(Staff.email == "new@shop.example")).one()
    # The last admin cannot demote themselves.
    admin_client.post(
        f"/inbox/settings/staff/{admin_client.staff.id}",
        data={"csrf_token": admin_client.csrf, "role": "agent", "active": "1"},
    )
    admin_client.post(
        f"/inbox/settings/staff/{new.id}",
        data={"csrf_token": admin_client.csrf, "role": "agent", "active": "0"},
    )
    with db.read_session() as session:
        roles = dict(session.execute(select(Staff.email, Staff.role)).all())
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
        new = session.get(Staff, new.id)
    assert roles["admin@shop.example"] == "admin"
    assert not new.active
    assert actions == ["staff.create", "staff.update"]
    # A deactivated member cannot sign in.
    assert (
        sign_in(admin_client.application.test_client(), "new@shop.example", "p" * 12).status_code
        == 401
    )


def test_language_switches_per_staff_member(admin_client):
    assert "受信箱" in admin_client.get("/inbox/conversations").text
    admin_client.post(
        "/inbox/language",
        data={"csrf_token": admin_client.csrf, "language": "en", "next": "/inbox/"},
    )
    page = admin_client.get("/inbox/conversations").text
    assert "Inbox" in page and "受信箱" not in page


def test_create_staff_command(app, db, monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", STAFF_PASSWORD)
    result = app.test_cli_runner().invoke(
        args=["create-staff", "cli@shop.example", "--role", "admin"]
    )
    assert result.exit_code == 0, result.output
    weak = app.test_cli_runner().invoke(
        args=["create-staff", "weak@shop.example"], env={"STAFF_PASSWORD": "short"}
    )
    assert weak.exit_code != 0 and "10 characters" in weak.output
    with db.read_session() as session:
        [staff] = session.scalars(select(Staff)).all()
    assert staff.role == "admin" and staff.password_hash.startswith("$argon2id$")


def test_admin_sets_a_new_password_which_ends_old_sessions(admin_client, make_staff, db):
    clerk = make_staff("clerk@shop.example", "agent")
    other = admin_client.application.test_client()
    sign_in(other, clerk.email)
    assert other.get("/inbox/conversations").status_code == 200
    admin_client.post(
        f"/inbox/settings/staff/{clerk.id}",
        data={
            "csrf_token": admin_client.csrf,
            "role": "agent",
            "active": "1",
            "new_password": "a brand new secret",
        },
    )
    assert other.get("/inbox/conversations").status_code == 302
    fresh = admin_client.application.test_client()
    assert sign_in(fresh, clerk.email).status_code == 401
    assert sign_in(fresh, clerk.email, "a brand new secret").status_code == 302


def test_unknown_accounts_cost_a_hash_too(client, make_staff, monkeypatch):
    """Sign-in for an unknown e-mail runs the password hash, so timing reveals nothing."""
    import crm.login

    make_staff()
    calls = []
    real = crm.login.password_matches
    monkeypatch.setattr(crm.login, "password_matches", lambda s, p: calls.append(1) or real(s, p))
    sign_in(client, "nobody@shop.example", "whatever password")
    sign_in(client, "admin@shop.example", "whatever password")
    assert len(calls) == 2


def test_staff_change_their_own_password_and_other_browsers_are_signed_out(client, make_staff):
    make_staff("clerk@shop.example", "agent")
    sign_in(client, "clerk@shop.example")
    laptop = client.application.test_client()
    sign_in(laptop, "clerk@shop.example")
    page = client.get("/inbox/account")
    token = csrf_from(page.text)
    wrong = client.post(
        "/inbox/account",
        data={
            "csrf_token": token,
            "current_password": "not it",
            "new_password": "n" * 12,
            "new_password_confirm": "n" * 12,
        },
    )
    assert wrong.status_code == 400 and "現在のパスワードが違います" in wrong.text
    changed = client.post(
        "/inbox/account",
        data={
            "csrf_token": token,
            "current_password": STAFF_PASSWORD,
            "new_password": "n" * 12,
            "new_password_confirm": "n" * 12,
        },
    )
    assert changed.status_code == 302
    assert client.get("/inbox/conversations").status_code == 200  # this browser stays in
    assert laptop.get("/inbox/conversations").status_code == 302  # the other one is out
    fresh = client.application.test_client()
    assert sign_in(fresh, "clerk@shop.example", "n" * 12).status_code == 302
