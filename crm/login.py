"""Signing in: check the password, and throttle guessing per account and per address."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.models import LoginAttempt, Staff
from crm.staff import find_staff_by_email, hash_password, normalise_email, password_matches

WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


@dataclass(frozen=True)
class LoginResult:
    """The staff member on success; otherwise why not ("invalid" or "throttled")."""

    staff: Staff | None
    problem: str | None = None
    retry_after: timedelta | None = None


def attempt_login(
    session: Session, email: str, password: str, ip_address: str, now: datetime
) -> LoginResult:
    """Check the credentials unless this account or address is throttled; log the attempt."""
    email = normalise_email(email)[:254]
    wait = throttle_wait(session, email, ip_address, now)
    if wait is not None:
        return LoginResult(None, "throttled", wait)
    staff = find_staff_by_email(session, email)
    # Hash even for an unknown e-mail, so the answer's timing does not tell which accounts exist.
    checked = staff if staff is not None else Staff(password_hash=_dummy_hash())
    ok = password_matches(checked, password) and staff is not None and staff.active
    session.add(LoginAttempt(email=email, ip_address=ip_address, succeeded=ok, attempted_at=now))
    return LoginResult(staff, None) if ok else LoginResult(None, "invalid")


_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password("no such account"))
    return _DUMMY_HASH[0]


def throttle_wait(session: Session, email: str, ip_address: str, now: datetime) -> timedelta | None:
    """How long until another try is allowed, or None when one is allowed now."""
    since = now - WINDOW
    last_success = session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True)
        )
    )
    account_since = max(since, last_success) if last_success else since
    checks = (
        (LoginAttempt.email == email, account_since, MAX_FAILURES_PER_ACCOUNT),
        (LoginAttempt.ip_address == ip_address, since, MAX_FAILURES_PER_ADDRESS),
    )
    for condition, start, limit in checks:
        failures = session.scalars(
            select(LoginAttempt.attempted_at)
            .where(condition, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at > start)
            .order_by(LoginAttempt.attempted_at.desc())
            .limit(limit)
        ).all()
        if len(failures) >= limit:
            return failures[-1] + WINDOW - now
    return None
