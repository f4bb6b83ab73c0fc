"""/api/v1/customers: the shop's customers and their timelines."""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify

from api.campaign_schemas import Consent, ConsentIn, Subscription, SubscriptionIn
from api.errors import InvalidParameter
from api.schemas import (
    CustomerEnvelope,
    CustomerPage,
    CustomerQuery,
    Error,
    Interaction,
    InteractionPage,
    PageQuery,
)
from api.spec import operation
from api.survey_schemas import AttributeIn, AttributeValue, CustomerTags, TagIn
from crm.attributes import AttributeValueError, find_attribute, set_customer_value
from crm.audit import record_audit
from crm.clock import utcnow
from crm.customers import list_customers
from crm.interactions import list_interactions
from crm.models import Customer
from crm.tags import TagError, find_or_create_tag, find_tag, tag_customer, tags_of, untag_customer
from crm.topics import (
    active_topics,
    find_topic,
    set_marketing_consent,
    set_topic_subscription,
    subscriptions,
)
from request_scope import request_session, services

bp = Blueprint("customers", __name__, url_prefix="/customers")


@operation(
    bp,
    "",
    "List customers, newest first",
    {200: (CustomerPage, "a page of customers")},
    query=CustomerQuery,
)
def index(query: CustomerQuery):
    """Customers, newest first; filter by line_user_id."""
    rows = list_customers(
        request_session(),
        line_user_id=query.line_user_id,
        before_id=query.cursor,
        limit=query.limit + 1,
    )
    page = rows[: query.limit]
    next_cursor = page[-1].id if len(rows) > query.limit else None
    return jsonify(CustomerPage(data=page, next_cursor=next_cursor).model_dump(mode="json"))


@operation(
    bp,
    "/<id:customer_id>",
    "One customer",
    {200: (CustomerEnvelope, "the customer"), 404: (Error, "no such customer")},
)
def show(customer_id: int):
    customer = request_session().get(Customer, customer_id)
    if customer is None:
        abort(404)
    return jsonify(CustomerEnvelope.of(customer).model_dump(mode="json"))


@operation(
    bp,
    "/<id:customer_id>/interactions",
    "A customer's interactions, newest first",
    {200: (InteractionPage, "a page of interactions"), 404: (Error, "no such customer")},
    query=PageQuery,
)
def interactions(customer_id: int, query: PageQuery):
    session = request_session()
    if session.get(Customer, customer_id) is None:
        abort(404)
    rows = list_interactions(session, customer_id, before_id=query.cursor, limit=query.limit + 1)
    page = [Interaction.of(row) for row in rows[: query.limit]]
    next_cursor = page[-1].id if len(rows) > query.limit else None
    return jsonify(InteractionPage(data=page, next_cursor=next_cursor).model_dump(mode="json"))


@operation(
    bp,
    "/<id:customer_id>/attributes/<name>",
    "Set (or clear, with null) one of a customer's attributes, by the attribute's key or label",
    {
        200: (AttributeValue, "the value as stored"),
        404: (Error, "no such customer or attribute"),
    },
    method="PUT",
    body=AttributeIn,
)
def set_attribute(customer_id: int, name: str, body: AttributeIn):
    with services().db.transaction() as session:
        customer = session.get(Customer, customer_id) or abort(404)
        definition = find_attribute(session, name) or abort(404)
        try:
            stored = set_customer_value(session, customer.id, definition, body.value or "")
        except AttributeValueError as exc:
            raise InvalidParameter("value", str(exc)) from None
        _audit(
            session, "api.attribute", customer.id, {"attribute": definition.key, "value": stored}
        )
        answer = AttributeValue(name=definition.key, value=stored)
    return jsonify(answer.model_dump(mode="json"))


@operation(
    bp,
    "/<id:customer_id>/tags",
    "Put a tag on a customer (created if the shop has none by that name)",
    {200: (CustomerTags, "the customer's tags"), 404: (Error, "no such customer")},
    method="POST",
    body=TagIn,
)
def add_tag(customer_id: int, body: TagIn):
    with services().db.transaction() as session:
        customer = session.get(Customer, customer_id) or abort(404)
        try:
            tag = find_or_create_tag(session, body.tag)
        except TagError as exc:
            raise InvalidParameter("tag", str(exc)) from None
        tag_customer(session, customer.id, tag.id)
        _audit(session, "api.tag_added", customer.id, {"tag": tag.name})
        session.flush()
        answer = CustomerTags(tags=[t.name for t in tags_of(session, customer.id)])
    return jsonify(answer.model_dump(mode="json"))


@operation(
    bp,
    "/<id:customer_id>/tags/<tag>",
    "Take a tag off a customer",
    {200: (CustomerTags, "the customer's tags"), 404: (Error, "no such customer or tag")},
    method="DELETE",
)
def remove_tag(customer_id: int, tag: str):
    with services().db.transaction() as session:
        customer = session.get(Customer, customer_id) or abort(404)
        found = find_tag(session, tag) or abort(404)
        untag_customer(session, customer.id, found.id)
        _audit(session, "api.tag_removed", customer.id, {"tag": found.name})
        answer = CustomerTags(tags=[t.name for t in tags_of(session, customer.id)])
    return jsonify(answer.model_dump(mode="json"))


def _consent_body(session, customer: Customer) -> dict:
    chosen = subscriptions(session, customer.id)
    topics = [
        Subscription(topic=topic.name, subscribed=chosen[topic.id])
        for topic in active_topics(session)
    ]
    return Consent(marketing=customer.marketing_consent, topics=topics).model_dump()


@operation(
    bp,
    "/<id:customer_id>/consent",
    "A customer's marketing consent and topic choices",
    {200: (Consent, "consent and topics"), 404: (Error, "no such customer")},
)
def consent(customer_id: int):
    session = request_session()
    customer = session.get(Customer, customer_id) or abort(404)
    return jsonify(_consent_body(session, customer))


@operation(
    bp,
    "/<id:customer_id>/consent",
    "Give or withdraw marketing consent (kept in the consent history, channel api)",
    {200: (Consent, "consent and topics"), 404: (Error, "no such customer")},
    method="PUT",
    body=ConsentIn,
)
def set_consent(customer_id: int, body: ConsentIn):
    with services().db.transaction() as session:
        customer = session.get(Customer, customer_id) or abort(404)
        if set_marketing_consent(session, customer, body.marketing, utcnow(), "api"):
            _audit(session, "api.consent", customer.id, {"marketing": body.marketing})
        answer = _consent_body(session, customer)
    return jsonify(answer)


@operation(
    bp,
    "/<id:customer_id>/topics/<topic>",
    "Subscribe a customer to a topic or opt them out (by the topic's name or id)",
    {200: (Subscription, "the choice as stored"), 404: (Error, "no such customer or topic")},
    method="PUT",
    body=SubscriptionIn,
)
def set_topic(customer_id: int, topic: str, body: SubscriptionIn):
    with services().db.transaction() as session:
        customer = session.get(Customer, customer_id) or abort(404)
        found = find_topic(session, topic) or abort(404)
        if set_topic_subscription(session, customer, found, body.subscribed, utcnow(), "api"):
            detail = {"topic": found.name, "subscribed": body.subscribed}
            _audit(session, "api.topic", customer.id, detail)
        answer = Subscription(topic=found.name, subscribed=body.subscribed)
    return jsonify(answer.model_dump())


def _audit(session, action: str, customer_id: int, detail: dict) -> None:
    detail = {**detail, "api_token": g.get("api_token_name")}
    record_audit(session, None, action, utcnow(), target=("customer", customer_id), detail=detail)
