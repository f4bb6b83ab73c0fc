"""What the panel beside a chat (and the customer page) shows about a customer."""

from __future__ import annotations

from crm.attributes import list_definitions, values_of
from crm.models import Customer
from crm.notes import notes_of
from crm.preferences import preference_history
from crm.surveys import active_surveys, latest_surveys_of
from crm.tags import list_tags, tags_of
from crm.topics import active_topics, subscriptions
from inbox.loyalty_panel import loyalty_panel_context
from request_scope import request_session

CONSENT_HISTORY_SHOWN = 10


def panel_context(customer: Customer) -> dict:
    """Template values for inbox/_customer_panel.html."""
    session = request_session()
    tags = tags_of(session, customer.id)
    own = {t.id for t in tags}
    return {
        "customer": customer,
        "customer_tags": tags,
        "other_tags": [t for t in list_tags(session) if t.id not in own],
        "definitions": list_definitions(session),
        "attribute_values": values_of(session, customer.id),
        "notes": notes_of(session, customer.id),
        "customer_surveys": latest_surveys_of(session, customer.id),
        "active_surveys": active_surveys(session),
        "topics": active_topics(session),
        "subscriptions": subscriptions(session, customer.id),
        "consent_changes": preference_history(session, customer.id, limit=CONSENT_HISTORY_SHOWN),
        **loyalty_panel_context(customer),
    }
