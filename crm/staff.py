"""Staff accounts: creation, passwords (argon2id), roles and preferences."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.models import ROLE_ADMIN, ROLES, Staff

MIN_PASSWORD_LENGTH = 10
LANGUAGES = ("ja", "en")
_hasher = PasswordHasher()  # argon2id with the library's current recommended cost


class StaffError(ValueError):
    """A staff change that cannot be made; the message says why (a translatable key)."""


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def password_matches(staff: Staff, password: str) -> bool:
    """True if the password is the staff member's; never raises on a bad hash."""
    try:
        return _hasher.verify(staff.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_strength(password: str) -> None:
    """Raise StaffError when the password is too weak to protect customer data."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError("password_too_short")


def check_new_staff(session: Session, email: str, role: str) -> None:
    """Raise StaffError for a malformed e-mail, an unknown role, or an e-mail in use."""
    if "@" not in email or len(email) > 254 or " " in email:
        raise StaffError("email_invalid")
    if role not in ROLES:
        raise StaffError("role_invalid")
    if find_staff_by_email(session, email) is not None:
        raise StaffError("email_taken")


def create_staff(
    session: Session, email: str, password: str, role: str, display_name: str = ""
) -> Staff:
    """Add a staff member after checking e-mail, role and password."""
    email = normalise_email(email)
    check_new_staff(session, email, role)
    check_password_strength(password)
    staff = Staff(
        email=email,
        display_name=display_name.strip()[:100] or email.split("@")[0],
        password_hash=hash_password(password),
        role=role,
        language="ja",
        active=True,
    )
    session.add(staff)
    session.flush()
    return staff


def find_staff_by_email(session: Session, email: str) -> Staff | None:
    """The staff member with this e-mail, if any."""
    statement = select(Staff).where(Staff.email == normalise_email(email))
    return session.scalars(statement).first()


def count_staff(session: Session) -> int:
    """How many staff accounts exist (0 means a fresh install awaiting its first admin)."""
    return session.scalar(select(func.count()).select_from(Staff)) or 0


def list_staff(session: Session) -> list[Staff]:
    """Every staff account, admins first."""
    return list(session.scalars(select(Staff).order_by(Staff.role, Staff.email)))


def active_staff(session: Session) -> list[Staff]:
    """Staff who can be assigned conversations."""
    statement = select(Staff).where(Staff.active.is_(True)).order_by(Staff.display_name)
    return list(session.scalars(statement))


def set_language(staff: Staff, language: str) -> None:
    """The inbox language this staff member reads."""
    if language not in LANGUAGES:
        raise StaffError("language_invalid")
    staff.language = language


def update_staff(session: Session, staff: Staff, *, role: str, active: bool) -> None:
    """Change role or active state, never leaving the shop without an active admin."""
    if role not in ROLES:
        raise StaffError("role_invalid")
    losing_admin = staff.is_admin and staff.active and (role != ROLE_ADMIN or not active)
    if losing_admin and _active_admin_count(session) <= 1:
        raise StaffError("last_admin")
    staff.role = role
    staff.active = active


def _active_admin_count(session: Session) -> int:
    statement = select(func.count()).where(Staff.role == ROLE_ADMIN, Staff.active.is_(True))
    return session.scalar(statement.select_from(Staff)) or 0


def set_password(staff: Staff, password: str) -> None:
    """Replace the staff member's password."""
    check_password_strength(password)
    staff.password_hash = hash_password(password)
