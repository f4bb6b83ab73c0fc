"""Keeps customers' LINE profiles (name, picture, status message, language) up to date."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.line_client import PROFILE_NOT_FOUND, SENT, LineClient, ProfileOutcome
from crm.clock import utcnow
from crm.customers import apply_profile, mark_profile_unavailable, schedule_profile_retry
from crm.db import Database
from crm.models import PROFILE_PENDING, Customer


@dataclass(frozen=True)
class FetchedProfile:
    """What LINE answered for one customer, waiting to be written back."""

    customer_id: int
    outcome: ProfileOutcome


class ProfileSync:
    """Fetches a profile outside any transaction and stores what LINE said."""

    def __init__(self, db: Database, line: LineClient):
        self.db = db
        self.line = line

    def sync(self, customer_id: int) -> str | None:
        """Fetch and store one customer's profile if it is due; returns LINE's answer kind."""
        fetched = self.fetch(customer_id)
        if fetched is None:
            return None
        with self.db.transaction(background=True) as session:
            self.record(session, [fetched])
        return fetched.outcome.result

    def fetch(self, customer_id: int) -> FetchedProfile | None:
        """Ask LINE for the profile if it is due; None if it is not."""
        with self.db.read_session() as session:
            customer = session.get(Customer, customer_id)
            if customer is None or customer.profile_status != PROFILE_PENDING:
                return None
            line_user_id = customer.line_user_id
        return FetchedProfile(customer_id, self.line.get_profile(line_user_id))

    def record(self, session: Session, fetched: list[FetchedProfile]) -> None:
        """Store what LINE said about each customer, in the caller's transaction."""
        now = utcnow()
        for item in fetched:
            customer = session.get(Customer, item.customer_id)
            if item.outcome.result == SENT:
                apply_profile(customer, item.outcome.profile, now)
            elif item.outcome.result == PROFILE_NOT_FOUND:
                mark_profile_unavailable(customer, now)
            else:
                schedule_profile_retry(customer, now)
