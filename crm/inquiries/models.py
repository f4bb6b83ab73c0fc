"""An inquiry: one question (or thread of questions) a customer needs staff for, from the
first unanswered message to its resolution. At most one is open per customer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base, BigId

INQUIRY_OPEN = "open"
INQUIRY_RESOLVED = "resolved"

# How an inquiry began.
SOURCE_UNMATCHED = "unmatched"  # the FAQ had no answer
SOURCE_HANDOFF = "handoff"  # the customer asked for staff (keyword or button)
SOURCE_MESSAGE = "message"  # wrote while the bot was not answering (paused, no FAQs)
SOURCES = (SOURCE_UNMATCHED, SOURCE_HANDOFF, SOURCE_MESSAGE)


class Inquiry(Base):
    """From the first message staff must answer to the moment they resolve it."""

    __tablename__ = "inquiries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=INQUIRY_OPEN)
    source: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(50))
    first_text: Mapped[str | None] = mapped_column(String(500))
    opened_at: Mapped[datetime]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    first_response_at: Mapped[datetime | None]
    first_responder_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))

    __table_args__ = (
        Index("ix_inquiries_opened", "opened_at"),
        # One open inquiry per customer: a second first message in a race is a conflict.
        Index(
            "ux_inquiries_open_customer",
            "customer_id",
            unique=True,
            postgresql_where=sql_text("status = 'open'"),
            sqlite_where=sql_text("status = 'open'"),
        ),
        Index("ix_inquiries_customer", "customer_id", "id"),
    )
