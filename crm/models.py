"""The CRM's tables. Queries live in the service modules; models hold shape and invariants."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import AnswerValue, Base, BigId, JSONDocument, created_at, updated_at

# Follow states of a customer towards the shop's LINE account.
FOLLOWING = "following"
BLOCKED = "blocked"
UNKNOWN = "unknown"  # wrote to the bot but no follow event seen (a friend from before the bot)
FOLLOW_STATES = (FOLLOWING, BLOCKED, UNKNOWN)

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

# Staff roles: admins also manage staff, settings and exports.
ROLE_ADMIN = "admin"
ROLE_AGENT = "agent"
ROLES = (ROLE_ADMIN, ROLE_AGENT)

# Conversation (inquiry) states.
CONVERSATION_OPEN = "open"
CONVERSATION_PENDING = "pending"
CONVERSATION_RESOLVED = "resolved"
CONVERSATION_STATUSES = (CONVERSATION_OPEN, CONVERSATION_PENDING, CONVERSATION_RESOLVED)

# Custom attribute kinds.
ATTRIBUTE_KINDS = ("text", "number", "date", "choice")

# A flow run's life (crm/flows.py). At most one run per customer is in progress.
RUN_IN_PROGRESS = "in_progress"
RUN_COMPLETED = "completed"
RUN_CANCELLED = "cancelled"
RUN_EXPIRED = "expired"
RUN_STATUSES = (RUN_IN_PROGRESS, RUN_COMPLETED, RUN_CANCELLED, RUN_EXPIRED)


# What a customer wrote themselves, as segments read it (the partial index's condition).
CUSTOMER_MESSAGE_SQL = (
    "direction = 'in' AND kind IN "
    "('text', 'sticker', 'image', 'video', 'audio', 'file', 'location')"
)


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
    last_away_reply_at: Mapped[datetime | None]
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    interactions: Mapped[list[Interaction]] = relationship(
        back_populates="customer", lazy="write_only", passive_deletes=True
    )

    __table_args__ = (
        Index("ix_customers_profile_due", "profile_status", "profile_next_attempt_at"),
        Index("ix_customers_follow_status", "follow_status", "id"),
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
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    reply_token: Mapped[str | None] = mapped_column(String(128))
    reply_token_expires_at: Mapped[datetime | None]
    retry_key: Mapped[str | None] = mapped_column(String(36), unique=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
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
    staff: Mapped[Staff | None] = relationship()

    __table_args__ = (
        Index("ix_interactions_customer_timeline", "customer_id", "id"),
        Index(
            "ix_interactions_outbox_due",
            "next_attempt_at",
            postgresql_where=sql_text("delivery_status IN ('pending', 'sending')"),
            sqlite_where=sql_text("delivery_status IN ('pending', 'sending')"),
        ),
        # A customer's later messages wait for their earlier ones still being tried.
        Index(
            "ix_interactions_outbox_customer",
            "customer_id",
            "id",
            postgresql_where=sql_text("delivery_status IN ('pending', 'sending')"),
            sqlite_where=sql_text("delivery_status IN ('pending', 'sending')"),
        ),
        # Segments count and date each customer's own messages (crm/segments.py).
        Index(
            "ix_interactions_customer_messages",
            "customer_id",
            "occurred_at",
            postgresql_where=sql_text(CUSTOMER_MESSAGE_SQL),
            sqlite_where=sql_text(CUSTOMER_MESSAGE_SQL),
        ),
        # /metrics counts messages by the LINE error they last got; errors are rare.
        Index(
            "ix_interactions_line_errors",
            "error_status",
            postgresql_where=sql_text("error_status IS NOT NULL"),
            sqlite_where=sql_text("error_status IS NOT NULL"),
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
        # The worker takes lanes by the oldest pending events first.
        Index(
            "ix_inbound_events_pending",
            "id",
            postgresql_where=sql_text("status = 'pending'"),
            sqlite_where=sql_text("status = 'pending'"),
        ),
    )


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


class Staff(Base):
    """A person who uses the inbox; the password is stored as an argon2id hash only."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=ROLE_AGENT)
    language: Mapped[str] = mapped_column(String(8), default="ja")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[created_at]
    last_login_at: Mapped[datetime | None]
    # The staff member's own LINE account, linked by a one-time code they send to the bot;
    # campaign test sends go there.
    line_user_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    line_link_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    line_link_code_expires_at: Mapped[datetime | None]

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN


class StaffSession(Base):
    """A signed-in browser; the cookie holds a random token, the table its SHA-256."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[created_at]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    staff: Mapped[Staff] = relationship()


class LoginAttempt(Base):
    """One try to sign in, kept for throttling per account and per address."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip_address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    attempted_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_login_attempts_email", "email", "attempted_at"),
        Index("ix_login_attempts_ip_address", "ip_address", "attempted_at"),
    )


class AuditEntry(Base):
    """Who changed or exported what, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime]

    staff: Mapped[Staff | None] = relationship()

    __table_args__ = (Index("ix_audit_log_occurred_at", "occurred_at"),)


class Conversation(Base):
    """The inquiry thread with one customer: its state in the staff inbox."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default=CONVERSATION_OPEN)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    awaiting_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime]
    last_inbound_at: Mapped[datetime | None]
    last_preview: Mapped[str | None] = mapped_column(String(200))
    # Handed off to staff: the bot's automatic answers (FAQ, acknowledgements) stay quiet in
    # this chat until staff resolve it or resume the bot.
    bot_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    bot_paused_at: Mapped[datetime | None]
    # The category picked in the お問い合わせ menu, filed on the customer's next inquiry.
    inquiry_category: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    customer: Mapped[Customer] = relationship()
    assignee: Mapped[Staff | None] = relationship()

    __table_args__ = (
        Index("ix_conversations_recent", "last_message_at", "id"),
        Index("ix_conversations_status_recent", "status", "last_message_at", "id"),
        Index("ix_conversations_assignee_recent", "assignee_id", "last_message_at", "id"),
        # The sidebar counts needs-reply, mine and unassigned on every inbox page: partial
        # indexes keep those counts (and lists) to the open chats instead of scanning them all.
        Index(
            "ix_conversations_needs_reply",
            "last_message_at",
            "id",
            postgresql_where=sql_text("awaiting_reply IS true AND status <> 'resolved'"),
            sqlite_where=sql_text("awaiting_reply IS 1 AND status != 'resolved'"),
        ),
        Index(
            "ix_conversations_open_by_assignee",
            "assignee_id",
            "last_message_at",
            "id",
            postgresql_where=sql_text("status <> 'resolved'"),
            sqlite_where=sql_text("status != 'resolved'"),
        ),
    )


class Tag(Base):
    """A label staff put on customers (常連, ランチ, VIP...)."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    color: Mapped[str] = mapped_column(String(7), default="#6b7280")
    created_at: Mapped[created_at]


class CustomerTag(Base):
    """A tag on a customer."""

    __tablename__ = "customer_tags"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"))
    created_at: Mapped[created_at]

    __table_args__ = (
        PrimaryKeyConstraint("customer_id", "tag_id"),
        Index("ix_customer_tags_tag_customer", "tag_id", "customer_id"),
    )


class Note(Base):
    """An internal note about a customer; never sent to them."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created_at]

    staff: Mapped[Staff | None] = relationship()


class AttributeDefinition(Base):
    """A custom customer field the shop defines (birthday, favourite menu, course...)."""

    __tablename__ = "attribute_definitions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    choices: Mapped[list[str]] = mapped_column(JSONDocument, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[created_at]


class CustomerAttribute(Base):
    """One custom field's value for one customer, kept as normalised text."""

    __tablename__ = "customer_attributes"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("attribute_definitions.id", ondelete="CASCADE")
    )
    value: Mapped[str] = mapped_column(String(500))
    updated_at: Mapped[updated_at]

    __table_args__ = (
        PrimaryKeyConstraint("customer_id", "definition_id"),
        Index("ix_customer_attributes_definition_value", "definition_id", "value"),
    )


class CannedResponse(Base):
    """A saved reply staff insert by its shortcut."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created_at]


class Flow(Base):
    """A multi-step conversation the bot holds with one customer at a time: a survey (kind
    `survey`) for now. Its steps live in versions, so editing never breaks a run in progress."""

    __tablename__ = "flows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(100))
    keyword: Mapped[str | None] = mapped_column(String(50))  # normalised; starts the flow
    on_follow: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    expire_hours: Mapped[int] = mapped_column(Integer, default=24)
    remind_after_hours: Mapped[int | None] = mapped_column(Integer)  # one reminder; None: none
    thanks: Mapped[str | None] = mapped_column(Text)  # the last message; a default when None
    # The coupon a customer gets for completing it (crm/loyalty/survey_rewards.py).
    reward_coupon_id: Mapped[int | None] = mapped_column(
        ForeignKey("coupons.id", ondelete="SET NULL")
    )
    version: Mapped[int] = mapped_column(Integer, default=1)  # the newest FlowVersion.number
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    __table_args__ = (Index("ix_flows_keyword", "keyword"),)


class FlowVersion(Base):
    """The steps of one version of a flow, as checked JSON (crm/flow_steps.py)."""

    __tablename__ = "flow_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flow_id: Mapped[int] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    created_at: Mapped[created_at]

    __table_args__ = (UniqueConstraint("flow_id", "number"),)


class FlowRun(Base):
    """One customer going through one version of a flow."""

    __tablename__ = "flow_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    flow_id: Mapped[int] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("flow_versions.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=RUN_IN_PROGRESS)
    step_key: Mapped[str | None] = mapped_column(String(40))  # the question waiting for an answer
    reasks: Mapped[int] = mapped_column(Integer, default=0)  # unreadable answers to this question
    selected: Mapped[list[str]] = mapped_column(
        JSONDocument, default=list
    )  # multiple choice so far
    trigger: Mapped[str] = mapped_column(String(16))
    # What the run is about, when staff started it: the chat they resolved (CSAT) and who.
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    started_at: Mapped[datetime]
    last_activity_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    flow: Mapped[Flow] = relationship()
    version: Mapped[FlowVersion] = relationship()

    __table_args__ = (
        # At most one run in progress per customer, enforced by the database.
        Index(
            "ux_flow_runs_one_in_progress",
            "customer_id",
            unique=True,
            postgresql_where=sql_text("status = 'in_progress'"),
            sqlite_where=sql_text("status = 'in_progress'"),
        ),
        Index("ix_flow_runs_customer", "customer_id", "id"),
        Index("ix_flow_runs_flow", "flow_id", "id"),
        Index(
            "ix_flow_runs_expiring",
            "expires_at",
            postgresql_where=sql_text("status = 'in_progress'"),
            sqlite_where=sql_text("status = 'in_progress'"),
        ),
    )


class FlowAnswer(Base):
    """One answer of one run: a string for a choice, a list for multiple choice, a number for
    a rating, NPS or number, ISO text for a date, the text for free text; null when skipped."""

    __tablename__ = "flow_answers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("flow_runs.id", ondelete="CASCADE"))
    flow_id: Mapped[int] = mapped_column(ForeignKey("flows.id", ondelete="CASCADE"))  # for results
    step_key: Mapped[str] = mapped_column(String(40))
    value: Mapped[Any] = mapped_column(AnswerValue, nullable=True)  # skipped: SQL NULL
    answered_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("run_id", "step_key"),
        Index("ix_flow_answers_results", "flow_id", "step_key", "answered_at"),
    )


class Segment(Base):
    """A saved audience: a condition tree (crm/segments.py), evaluated whenever it is used."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    conditions: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


# Campaign life (crm/campaigns.py): a draft is edited; scheduled waits for its time (again and
# again when recurring); sending while a run goes out; paused keeps its run's place.
CAMPAIGN_DRAFT = "draft"
CAMPAIGN_SCHEDULED = "scheduled"
CAMPAIGN_SENDING = "sending"
CAMPAIGN_SENT = "sent"
CAMPAIGN_CANCELLED = "cancelled"
CAMPAIGN_PAUSED = "paused"
CAMPAIGN_STATUSES = (
    CAMPAIGN_DRAFT,
    CAMPAIGN_SCHEDULED,
    CAMPAIGN_SENDING,
    CAMPAIGN_SENT,
    CAMPAIGN_CANCELLED,
    CAMPAIGN_PAUSED,
)

# A delivery run's recipients (crm/delivery.py). A recipient's batch is the id range it falls
# in; while a run waits for quiet hours to end its pending recipients count as deferred.
RECIPIENT_PENDING = "pending"  # to be sent (or in a batch with LINE right now)
RECIPIENT_SENT = "sent"
RECIPIENT_FAILED = "failed"
RECIPIENT_HELD_BACK = "held_back"  # a politeness rule or the control group: never sent
RECIPIENT_CANCELLED = "cancelled"  # the campaign was cancelled before their turn


class Topic(Base):
    """What a campaign is about (ランチ情報, イベント…); customers can opt out of each."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[created_at]


class CustomerTopic(Base):
    """A customer's choice for one topic; no row means subscribed (the default)."""

    __tablename__ = "customer_topics"

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    topic_id: Mapped[int] = mapped_column(ForeignKey("topics.id", ondelete="CASCADE"))
    subscribed: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[updated_at]

    __table_args__ = (
        PrimaryKeyConstraint("customer_id", "topic_id"),
        Index("ix_customer_topics_topic", "topic_id", "subscribed", "customer_id"),
    )


class ConsentChange(Base):
    """The history of a customer's marketing consent and topic choices: what, when, through
    which channel (staff, api, chat) and the wording they saw."""

    __tablename__ = "consent_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(16))  # "marketing" or "topic"
    value: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str] = mapped_column(String(16))
    wording: Mapped[str | None] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    occurred_at: Mapped[datetime]

    __table_args__ = (Index("ix_consent_changes_customer", "customer_id", "id"),)


class Campaign(Base):
    """Messages for an audience at a time (once, now or recurring), under the politeness rules."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=CAMPAIGN_DRAFT)
    # Audience: a saved segment, a tree of its own, or (both empty) every friend.
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="RESTRICT"))
    conditions: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topics.id", ondelete="RESTRICT"))
    send_at: Mapped[datetime | None]  # the first run; None: as soon as scheduled
    recurrence: Mapped[str | None] = mapped_column(String(100))  # cron, shop time zone
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Tokyo")
    holdout_percent: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None]
    created_via: Mapped[str] = mapped_column(String(16), default="inbox")  # inbox or api
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    segment: Mapped[Segment | None] = relationship()
    topic: Mapped[Topic | None] = relationship()
    created_by: Mapped[Staff | None] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[Staff | None] = relationship(foreign_keys=[approved_by_id])

    __table_args__ = (
        # The scheduler's tick: campaigns whose next run is due.
        Index(
            "ix_campaigns_due",
            "next_run_at",
            postgresql_where=sql_text("status = 'scheduled'"),
            sqlite_where=sql_text("status = 'scheduled'"),
        ),
    )


class CampaignRun(Base):
    """One sending of a campaign at one scheduled time; unique on the pair, so a second
    scheduler or a restart never starts the same sending twice. Senders claim its recipients
    in id order: `claimed_up_to` is the last recipient id handed to a batch."""

    __tablename__ = "campaign_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    scheduled_for: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))  # sending, sent, cancelled
    messages: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)  # as sent in this run
    personalised: Mapped[bool] = mapped_column(Boolean, default=False)
    not_before: Mapped[datetime | None]  # quiet hours: nothing goes out before this
    claimed_up_to: Mapped[int] = mapped_column(BigInteger, default=0)
    last_recipient_id: Mapped[int] = mapped_column(BigInteger, default=0)
    started_at: Mapped[datetime]
    materialised_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    campaign: Mapped[Campaign] = relationship()

    __table_args__ = (
        UniqueConstraint("campaign_id", "scheduled_for"),
        Index(
            "ix_campaign_runs_active",
            "id",
            postgresql_where=sql_text("status = 'sending'"),
            sqlite_where=sql_text("status = 'sending'"),
        ),
    )


class CampaignBatch(Base):
    """Recipients `first_id`..`last_id` of a run sent together: one multicast (at most 500),
    or one push each when personalised. The retry key is stored before the first attempt, so a
    resend after a crash is a 409."""

    __tablename__ = "campaign_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id", ondelete="CASCADE"))
    first_id: Mapped[int] = mapped_column(BigInteger)
    last_id: Mapped[int] = mapped_column(BigInteger)
    retry_key: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16))  # sending, pending (retry), done
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    created_at: Mapped[created_at]

    __table_args__ = (
        Index(
            "ix_campaign_batches_open",
            "run_id",
            "next_attempt_at",
            postgresql_where=sql_text("status <> 'done'"),
            sqlite_where=sql_text("status != 'done'"),
        ),
    )


class CampaignRecipient(Base):
    """One customer in one run: sent, held back or failed, and why. Only columns that never
    change are indexed, so marking a recipient sent is a cheap in-place (HOT) update."""

    __tablename__ = "campaign_recipients"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(16))
    sent_at: Mapped[datetime | None]
    error_status: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("run_id", "customer_id"),
        Index("ix_campaign_recipients_run", "run_id", "id"),
        Index("ix_campaign_recipients_campaign", "campaign_id"),
        # The frequency cap and `received_campaign` read a customer's campaign messages.
        Index("ix_campaign_recipients_customer", "customer_id"),
        {"postgresql_with": {"fillfactor": 80}},  # room on each page for in-place updates
    )


# Loyalty's tables live with the capability (crm/loyalty/) on the same Base.
import crm.faq.models  # noqa: E402
import crm.inquiries.models  # noqa: E402
import crm.loyalty.models  # noqa: E402
import crm.rich_menus.models  # noqa: E402, F401
