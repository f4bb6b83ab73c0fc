"""/api/v1/customers/<id>/preferences: the preference centre for other systems (a shop's web
form, a POS). The same choices as 配信設定 in the chat; changes are recorded with channel api."""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify

from api.errors import InvalidParameter
from api.preference_schemas import (
    PreferenceChange,
    Preferences,
    PreferencesChanged,
    PreferencesIn,
    TopicPreference,
)
from api.schemas import Error
from api.spec import operation
from crm.audit import record_audit
from crm.clock import utcnow
from crm.models import Customer
from crm.preferences import (
    UnknownTopic,
    change_preferences,
    preference_history,
    preferences_of,
    topics_chosen,
)
from request_scope import request_session, services

bp = Blueprint("preferences", __name__, url_prefix="/customers")


def preferences_body(session, customer: Customer) -> dict:
    prefs = preferences_of(session, customer)
    return {
        "customer_id": customer.id,
        "marketing": prefs.marketing,
        "topics": {choice.topic.name: choice.subscribed for choice in prefs.choices},
        "subscriptions": [
            TopicPreference(
                id=c.topic.id,
                name=c.topic.name,
                description=c.topic.description,
                subscribed=c.subscribed,
            )
            for c in prefs.choices
        ],
        "history": [_change(entry) for entry in preference_history(session, customer.id)],
    }


def _change(entry) -> PreferenceChange:
    row = entry.change
    return PreferenceChange(
        occurred_at=row.occurred_at,
        subject=row.subject,
        topic=entry.topic_name,
        topic_id=row.topic_id,
        value=row.value,
        channel=row.channel,
        wording=row.wording,
        staff_id=row.staff_id,
    )


@operation(
    bp,
    "/<id:customer_id>/preferences",
    "A customer's marketing consent and topic choices, with the recent history of changes",
    {200: (Preferences, "consent, topics and history"), 404: (Error, "no such customer")},
)
def show(customer_id: int):
    session = request_session()
    customer = session.get(Customer, customer_id) or abort(404)
    answer = Preferences(**preferences_body(session, customer))
    return jsonify(answer.model_dump(mode="json"))


@operation(
    bp,
    "/<id:customer_id>/preferences",
    "Change marketing consent and topics (only what is given; recorded with channel api)",
    {200: (PreferencesChanged, "the choices as stored"), 404: (Error, "no such customer")},
    method="PUT",
    body=PreferencesIn,
)
def update(customer_id: int, body: PreferencesIn):
    with services().db.transaction() as session:
        customer = session.get(Customer, customer_id) or abort(404)
        try:
            topics = topics_chosen(session, body.topics or {})
        except UnknownTopic as exc:
            raise InvalidParameter(f"topics.{exc.key}", str(exc)) from None
        now = utcnow()
        changed = change_preferences(session, customer, topics, body.marketing, now, "api")
        if changed:
            detail = {"changed": changed, "api_token": g.get("api_token_name")}
            target = ("customer", customer.id)
            record_audit(session, None, "api.preferences", now, target=target, detail=detail)
        answer = PreferencesChanged(**preferences_body(session, customer), changed=changed)
    return jsonify(answer.model_dump(mode="json"))
