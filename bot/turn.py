"""One event being handled: the customer, the shop's texts, the replies collected. Handlers and
flows (bot/handlers.py, bot/flow_turns.py) take a Turn."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.events import LineEvent
from crm.conversations import conversation_for, note_customer_answer, note_customer_message
from crm.interactions import record_inbound
from crm.models import Conversation, Customer, Interaction
from crm.shop import shop_timezone_name


@dataclass(frozen=True)
class LoyaltyContext:
    """What loyalty replies need from the deployment: the secret counter QR tokens and member QR
    addresses are signed with, and where customers' phones fetch QR images (None: no images)."""

    secret_key: str | None = None
    public_base_url: str | None = None


NO_LOYALTY = LoyaltyContext()  # no secret, no images: counter QR tokens cannot be checked


@dataclass
class Turn:
    """One event being handled: what we know, and the replies we collect for it."""

    session: Session
    event: LineEvent
    customer: Customer
    texts: dict[str, str]
    now: datetime
    replies: list[dict[str, Any]] = field(default_factory=list)
    recorded: Interaction | None = None  # the event's inbound interaction, once logged
    default_timezone: str = "Asia/Tokyo"  # SHOP_TIMEZONE; staff may override it in settings
    loyalty: LoyaltyContext = NO_LOYALTY

    def reply(self, messages: list[dict[str, Any]]) -> None:
        """Queue messages for the answer; in standby mode the bot must stay silent."""
        if not self.event.is_standby:
            self.replies.extend(messages)

    def record(self, kind: str, **fields: Any) -> None:
        """Log the event as an inbound interaction of this customer (kept as `recorded`)."""
        self.recorded = record_inbound(
            self.session,
            self.customer,
            kind=kind,
            occurred_at=self.event.occurred_at,
            source_event_id=self.event.event_id,
            **fields,
        )

    def note_customer_spoke(self, preview: str | None) -> None:
        """The customer said something staff should see: their chat needs a reply."""
        note_customer_message(self.session, self.customer.id, self.event.occurred_at, preview)

    def note_customer_answered(self, preview: str | None) -> None:
        """The customer answered the bot: their chat shows it, without asking staff to reply."""
        note_customer_answer(self.session, self.customer.id, self.event.occurred_at, preview)

    def ensure_conversation(self) -> None:
        """Every customer has a chat in the inbox, even before they write."""
        self.conversation()

    def conversation(self) -> Conversation:
        """The customer's chat, created (dated by the event) if they had none."""
        return conversation_for(self.session, self.customer.id, self.event.occurred_at)

    @property
    def shop_tz(self) -> ZoneInfo:
        return ZoneInfo(shop_timezone_name(self.session, self.default_timezone))
