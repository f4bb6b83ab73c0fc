"""Keeps customers' LINE profiles (name, picture, status message, language) up to date."""

from __future__ import annotations

from bot.line_client import PROFILE_NOT_FOUND, SENT, LineClient
from crm.clock import utcnow
from crm.customers import apply_profile, mark_profile_unavailable, schedule_profile_retry
from crm.db import Database
from crm.models import PROFILE_PENDING, Customer


class ProfileSync:
    """Fetches a profile outside any transaction and stores what LINE said."""

    def __init__(self, db: Database, line: LineClient):
        self.db = db
        self.line = line

    def sync(self, customer_id: int) -> str | None:
        """Fetch and store one customer's profile if it is due; returns LINE's answer kind."""
        with self.db.read_session() as session:
            customer = session.get(Customer, customer_id)
            if customer is None or customer.profile_status != PROFILE_PENDING:
                return None
            line_user_id = customer.line_user_id
        outcome = self.line.get_profile(line_user_id)
        now = utcnow()
        with self.db.transaction() as session:
            customer = session.get(Customer, customer_id)
            if outcome.result == SENT:
                apply_profile(customer, outcome.profile, now)
            elif outcome.result == PROFILE_NOT_FOUND:
                mark_profile_unavailable(customer, now)
            else:
                schedule_profile_retry(customer, now)
        return outcome.result
