"""Customer lifecycle: registration on first contact, follow, block, and profile sync."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.models import (
    BLOCKED,
    FOLLOWING,
    PROFILE_OK,
    PROFILE_PENDING,
    PROFILE_UNAVAILABLE,
    Customer,
)

PROFILE_RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1))


@dataclass(frozen=True)
class Profile:
    """What LINE tells us about a user."""

    display_name: str
    picture_url: str | None = None
    status_message: str | None = None
    language: str | None = None


def find_customer_by_line_user_id(session: Session, line_user_id: str) -> Customer | None:
    """The customer with this LINE user ID, if any."""
    return session.scalars(select(Customer).where(Customer.line_user_id == line_user_id)).first()


def load_customers(session: Session, line_user_ids: list[str | None]) -> dict[str, Customer]:
    """The known customers among these LINE users, in one query, by LINE user ID."""
    wanted = {user_id for user_id in line_user_ids if user_id}
    if not wanted:
        return {}
    found = session.scalars(select(Customer).where(Customer.line_user_id.in_(wanted)))
    return {customer.line_user_id: customer for customer in found}


def get_or_register_customer(
    session: Session, line_user_id: str, at: datetime, known: dict[str, Customer] | None = None
) -> Customer:
    """The customer for a LINE user, registered on first sight; safe against concurrent firsts.
    `known` holds customers already loaded (see `load_customers`) and learns new ones."""
    customer = known.get(line_user_id) if known is not None else None
    if customer is None:
        customer = find_customer_by_line_user_id(session, line_user_id)
    if customer is None:
        customer = _register(session, line_user_id, at)
        session.flush()  # the handler's rows need its id
    if known is not None:
        known[line_user_id] = customer
    _touch_contact(customer, at)
    return customer


def _register(session: Session, line_user_id: str, at: datetime) -> Customer:
    """Insert a new customer; if another worker won the race, use theirs."""
    try:
        with session.begin_nested():
            customer = Customer(line_user_id=line_user_id, first_contact_at=at)
            session.add(customer)
        return customer
    except IntegrityError:
        existing = find_customer_by_line_user_id(session, line_user_id)
        if existing is None:
            raise
        return existing


def _touch_contact(customer: Customer, at: datetime) -> None:
    """Keep first and last contact times true whatever order events arrive in."""
    if customer.first_contact_at is None or at < customer.first_contact_at:
        customer.first_contact_at = at
    if customer.last_contact_at is None or at > customer.last_contact_at:
        customer.last_contact_at = at


def record_follow(session: Session, customer: Customer, at: datetime, is_unblocked: bool) -> None:
    """The user added (or unblocked) the account: they are reachable again, history kept."""
    customer.follow_status = FOLLOWING
    customer.followed_at = at
    customer.follow_count = (customer.follow_count or 0) + 1
    customer.last_follow_was_unblock = is_unblocked
    customer.profile_status = PROFILE_PENDING
    customer.profile_next_attempt_at = at
    customer.profile_attempts = 0


def record_unfollow(session: Session, customer: Customer, at: datetime) -> None:
    """The user blocked the account; keep the customer and their history, mark unreachable."""
    customer.follow_status = BLOCKED
    customer.blocked_at = at


def apply_profile(customer: Customer, profile: Profile, now: datetime) -> None:
    """Store a fresh profile from LINE."""
    customer.display_name = profile.display_name
    customer.picture_url = profile.picture_url
    customer.status_message = profile.status_message
    customer.language = profile.language
    customer.profile_status = PROFILE_OK
    customer.profile_fetched_at = now
    customer.profile_next_attempt_at = None


def mark_profile_unavailable(customer: Customer, now: datetime) -> None:
    """LINE has no profile for this user (blocked, no consent, or not a friend)."""
    customer.profile_status = PROFILE_UNAVAILABLE
    customer.profile_fetched_at = now
    customer.profile_next_attempt_at = None


def schedule_profile_retry(customer: Customer, now: datetime) -> None:
    """The profile fetch failed for a passing reason; try later, then give up."""
    attempt = customer.profile_attempts or 0
    customer.profile_attempts = attempt + 1
    if attempt >= len(PROFILE_RETRY_DELAYS):
        mark_profile_unavailable(customer, now)
        return
    customer.profile_next_attempt_at = now + PROFILE_RETRY_DELAYS[attempt]


def _profile_due(now: datetime):
    due = or_(Customer.profile_next_attempt_at.is_(None), Customer.profile_next_attempt_at <= now)
    return (Customer.profile_status == PROFILE_PENDING) & due


def any_profiles_due(session: Session, now: datetime) -> bool:
    """Is any profile fetch due? (A cheap read before taking the write lock.)"""
    return session.scalar(select(Customer.id).where(_profile_due(now)).limit(1)) is not None


def claim_profiles_due(
    session: Session, now: datetime, limit: int, lease: timedelta
) -> list[tuple[int, str]]:
    """Customers whose profile fetch is due (new, refollowed, or a retry that came due), as
    (id, LINE user ID); pushed back by `lease` so no other worker fetches them meanwhile."""
    statement = (
        select(Customer)
        .where(_profile_due(now))
        .order_by(Customer.profile_next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = list(session.scalars(statement))
    for customer in claimed:
        customer.profile_next_attempt_at = now + lease
    return [(customer.id, customer.line_user_id) for customer in claimed]


def list_customers(
    session: Session, *, line_user_id: str | None = None, before_id: int | None = None, limit: int
) -> list[Customer]:
    """Customers newest first, keyset-paginated by id."""
    statement = select(Customer).order_by(Customer.id.desc()).limit(limit)
    if line_user_id is not None:
        statement = statement.where(Customer.line_user_id == line_user_id)
    if before_id is not None:
        statement = statement.where(Customer.id < before_id)
    return list(session.scalars(statement))
