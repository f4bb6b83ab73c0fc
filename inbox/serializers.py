"""Rows to the JSON the API promises (see inbox/openapi.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crm.models import Customer, Interaction


def iso(value: datetime | None) -> str | None:
    """UTC ISO-8601 with a Z, or None."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def customer_json(customer: Customer) -> dict[str, Any]:
    """A customer as the API shows it."""
    return {
        "id": customer.id,
        "line_user_id": customer.line_user_id,
        "display_name": customer.display_name,
        "picture_url": customer.picture_url,
        "status_message": customer.status_message,
        "language": customer.language,
        "follow_status": customer.follow_status,
        "followed_at": iso(customer.followed_at),
        "blocked_at": iso(customer.blocked_at),
        "follow_count": customer.follow_count,
        "last_follow_was_unblock": customer.last_follow_was_unblock,
        "marketing_consent": customer.marketing_consent,
        "profile_status": customer.profile_status,
        "first_contact_at": iso(customer.first_contact_at),
        "last_contact_at": iso(customer.last_contact_at),
        "created_at": iso(customer.created_at),
    }


def interaction_json(item: Interaction) -> dict[str, Any]:
    """An interaction; an unsent message keeps its place but not its content."""
    unsent = item.unsent_at is not None
    data = {
        "id": item.id,
        "customer_id": item.customer_id,
        "direction": item.direction,
        "kind": item.kind,
        "occurred_at": iso(item.occurred_at),
        "text": None if unsent else item.text,
        "payload": {} if unsent else item.payload,
        "line_message_id": item.line_message_id,
        "unsent": unsent,
        "unsent_at": iso(item.unsent_at),
        "sender": item.sender,
        "delivery": None,
    }
    if item.direction == "out":
        data["delivery"] = {
            "status": item.delivery_status,
            "method": item.delivery_method,
            "attempts": item.attempts,
            "sent_at": iso(item.sent_at),
            "error_status": item.error_status,
            "error_message": item.error_message,
        }
    return data
