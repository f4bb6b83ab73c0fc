"""The CRM's tables. Queries live in the service modules; models hold shape and invariants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base, BigId, created_at, updated_at

# Follow states of a customer towards the shop's LINE account.
FOLLOWING = "following"
BLOCKED = "blocked"
UNKNOWN = "unknown"  # wrote to the bot but no follow event seen (a friend from before the bot)

# Profile sync states.
PROFILE_PENDING = "pending"
PROFILE_OK = "ok"
PROFILE_UNAVAILABLE = "unavailable"  # LINE answered 404: blocked, no consent, or not a friend

# Outbound delivery states.
DELIVERY_PENDING = "pending"
DELIVERY_SENDING = "sending"
DELIVERY_SENT = "sent"
DELIVERY_FAILED = "failed"

# Inbound event processing states.
EVENT_PENDING = "pending"
EVENT_DONE = "done"
EVENT_IGNORED = "ignored"  # stored raw, not acted on (unknown type, standby, group chat)
EVENT_FAILED = "failed"


class Customer(Base):
    """A LINE user who follows, followed, or wrote to the shop's account."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    line_user_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    picture_url: Mapped[str | None] = mapped_column(String(2000))
    status_message: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(35))
    follow_status: Mapped[str] = mapped_column(String(16), default=UNKNOWN)
    followed_at: Mapped[datetime | None]
    blocked_at: Mapped[datetime | None]
    follow_count: Mapped[int] = mapped_column(Integer, default=0)
    last_follow_was_unblock: Mapped[bool | None] = mapped_column(Boolean)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=True)
    profile_status: Mapped[str] = mapped_column(String(16), default=PROFILE_PENDING)
    profile_fetched_at: Mapped[datetime | None]
    profile_attempts: Mapped[int] = mapped_column(Integer, default=0)
    profile_next_attempt_at: Mapped[datetime | None]
    first_contact_at: Mapped[datetime | None]
    last_contact_at: Mapped[datetime | None]
    last_auto_reply_at: Mapped[datetime | None]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    interactions: Mapped[list[Interaction]] = relationship(
        back_populates="customer", lazy="write_only", passive_deletes=True
    )

    __table_args__ = (
        Index("ix_customers_profile_due", "profile_status", "profile_next_attempt_at"),
    )


class Interaction(Base):
    """One thing that passed between the shop and a customer, in either direction."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(8))  # "in" or "out"
    kind: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime]
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    line_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    unsent_at: Mapped[datetime | None]
    # Outbound only: who sent it and how its delivery went (the outbox).
    sender: Mapped[str | None] = mapped_column(String(16))
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    reply_token: Mapped[str | None] = mapped_column(String(128))
    reply_token_expires_at: Mapped[datetime | None]
    retry_key: Mapped[str | None] = mapped_column(String(36), unique=True)
    delivery_method: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    line_request_id: Mapped[str | None] = mapped_column(String(64))
    error_status: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]

    customer: Mapped[Customer] = relationship(back_populates="interactions")

    __table_args__ = (
        Index("ix_interactions_customer_timeline", "customer_id", "id"),
        Index(
            "ix_interactions_outbox_due",
            "next_attempt_at",
            postgresql_where=sql_text("delivery_status IN ('pending', 'sending')"),
            sqlite_where=sql_text("delivery_status IN ('pending', 'sending')"),
        ),
    )


class InboundEvent(Base):
    """A webhook event exactly as LINE sent it, kept before any processing."""

    __tablename__ = "inbound_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    webhook_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    lane_key: Mapped[str] = mapped_column(String(80))
    event_type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    destination: Mapped[str | None] = mapped_column(String(64))
    is_redelivery: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default=EVENT_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]

    __table_args__ = (
        Index(
            "ix_inbound_events_pending_lane",
            "lane_key",
            "occurred_at",
            postgresql_where=sql_text("status = 'pending'"),
            sqlite_where=sql_text("status = 'pending'"),
        ),
    )


class EventLane(Base):
    """A lock per customer (or chat) so that its events are handled one at a time, in order."""

    __tablename__ = "event_lanes"

    lane_key: Mapped[str] = mapped_column(String(80), primary_key=True)
    locked_by: Mapped[str | None] = mapped_column(String(80))
    locked_until: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[created_at]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ShopSetting(Base):
    """A shop-level setting (bot texts, later business hours) stored as JSON by key."""

    __tablename__ = "shop_settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict[str, Any]]
    updated_at: Mapped[updated_at]
