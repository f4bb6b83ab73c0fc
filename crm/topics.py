"""Topics and consent: what the shop writes about (ランチ情報, イベント…), each customer's choice
per topic, their marketing consent, and the history of every change (when, through which
channel, the wording they saw). Campaigns read them at send time; staff, the API and later the
in-chat preference centre write them, all through `set_topic_subscription` and
`set_marketing_consent`.

A customer is subscribed to a topic until they opt out: no row in `customer_topics` means yes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, not_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crm.models import ConsentChange, Customer, CustomerTopic, Topic
from crm.segments import Context, SegmentError, register_field, storable_text

CHANNELS = ("staff", "api", "chat")
MARKETING, TOPIC = "marketing", "topic"


class TopicError(ValueError):
    """An unknown topic or a name that cannot be used."""


def active_topics(session: Session) -> list[Topic]:
    return list(session.scalars(select(Topic).where(Topic.active).order_by(Topic.position)))


def all_topics(session: Session) -> list[Topic]:
    return list(session.scalars(select(Topic).order_by(Topic.position, Topic.id)))


def find_topic(session: Session, name_or_id: str | int) -> Topic | None:
    """A topic by its name, or by its id given as digits."""
    text = str(name_or_id)
    if text.isascii() and text.isdigit() and len(text) < 18:
        found = session.get(Topic, int(text))
        if found is not None:
            return found
    return session.scalar(select(Topic).where(Topic.name == text))


def create_topic(session: Session, name: str, description: str | None = None) -> Topic:
    name = (name or "").strip()
    if not 1 <= len(name) <= 50 or "/" in name or "\x00" in name:
        raise TopicError("topic_name_invalid")
    if session.scalar(select(Topic.id).where(Topic.name == name)) is not None:
        raise TopicError("topic_name_taken")
    position = len(all_topics(session))
    topic = Topic(name=name, description=description, position=position, active=True)
    session.add(topic)
    session.flush()
    return topic


def subscriptions(session: Session, customer_id: int) -> dict[int, bool]:
    """The customer's choice per active topic (True unless they opted out)."""
    opted = dict(
        session.execute(
            select(CustomerTopic.topic_id, CustomerTopic.subscribed).where(
                CustomerTopic.customer_id == customer_id
            )
        ).all()
    )
    return {topic.id: opted.get(topic.id, True) for topic in active_topics(session)}


def set_topic_subscription(
    session: Session,
    customer: Customer,
    topic: Topic,
    subscribed: bool,
    now: datetime,
    channel: str,
    wording: str | None = None,
    staff_id: int | None = None,
) -> bool:
    """Record the customer's choice for one topic; returns whether it changed."""
    row = session.get(CustomerTopic, (customer.id, topic.id))
    before = True if row is None else row.subscribed
    if row is None:
        row = CustomerTopic(customer_id=customer.id, topic_id=topic.id, subscribed=subscribed)
        session.add(row)
    row.subscribed = subscribed
    row.updated_at = now
    if before == subscribed:
        return False
    _remember(session, customer, TOPIC, subscribed, now, channel, wording, staff_id, topic.id)
    return True


def set_marketing_consent(
    session: Session,
    customer: Customer,
    consent: bool,
    now: datetime,
    channel: str,
    wording: str | None = None,
    staff_id: int | None = None,
) -> bool:
    """Record the customer's marketing consent; returns whether it changed."""
    if customer.marketing_consent == consent:
        return False
    customer.marketing_consent = consent
    _remember(session, customer, MARKETING, consent, now, channel, wording, staff_id, None)
    return True


def _remember(session, customer, subject, value, now, channel, wording, staff_id, topic_id):
    if channel not in CHANNELS:
        raise ValueError(f"unknown consent channel {channel!r}")
    session.add(
        ConsentChange(
            customer_id=customer.id,
            topic_id=topic_id,
            subject=subject,
            value=value,
            channel=channel,
            wording=wording,
            staff_id=staff_id,
            occurred_at=now,
        )
    )


def consent_history(session: Session, customer_id: int, limit: int = 50) -> list[ConsentChange]:
    statement = (
        select(ConsentChange)
        .where(ConsentChange.customer_id == customer_id)
        .order_by(ConsentChange.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def opted_out_of(topic_id: Any) -> ColumnElement:
    """SQL: the customer (`customers` row in the query) opted out of the topic."""
    return exists().where(
        CustomerTopic.customer_id == Customer.id,
        CustomerTopic.topic_id == topic_id,
        CustomerTopic.subscribed.is_(False),
    )


def _topic_field(context: Context, op: str, value: Any, where: str) -> ColumnElement:
    """`{"field": "topic", "op": "subscribed" | "unsubscribed", "value": "ランチ情報"}`."""
    if not isinstance(value, str | int) or isinstance(value, bool) or not storable_text(str(value)):
        raise SegmentError(f"{where}.value", "a topic name")
    topic = find_topic(context.session, value)
    if topic is None:
        raise SegmentError(f"{where}.value", f"no topic named {value!r}")
    checks = {"subscribed": not_(opted_out_of(topic.id)), "unsubscribed": opted_out_of(topic.id)}
    if op not in checks:
        raise SegmentError(f"{where}.op", "subscribed or unsubscribed")
    return checks[op]


register_field("topic", _topic_field)
