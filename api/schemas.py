"""Request and response bodies of /api/v1, declared once: they validate what comes in, shape
what goes out, and generate the OpenAPI document (api/spec.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm.models import Customer as CustomerRow
from crm.models import Interaction as InteractionRow

DATABASE_ID_MAX = 2**63 - 1
Id = Field(ge=1, le=DATABASE_ID_MAX)


class Body(BaseModel):
    """A response body: exactly these fields, times as UTC ISO-8601 with a Z."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Customer(Body):
    id: int
    line_user_id: str
    display_name: str | None
    picture_url: str | None
    status_message: str | None
    language: str | None
    follow_status: Literal["following", "blocked", "unknown"]
    followed_at: datetime | None
    blocked_at: datetime | None
    follow_count: int
    last_follow_was_unblock: bool | None
    marketing_consent: bool
    profile_status: Literal["pending", "ok", "unavailable"]
    first_contact_at: datetime | None
    last_contact_at: datetime | None
    created_at: datetime


class Delivery(Body):
    status: Literal["pending", "sending", "sent", "failed"]
    method: Literal["reply", "push", "multicast"] | None
    attempts: int
    sent_at: datetime | None
    error_status: int | None
    error_message: str | None


class Interaction(Body):
    id: int
    customer_id: int
    direction: Literal["in", "out", "event"] = Field(
        description="in: from the customer; out: to them; event: a stamp or coupon event"
    )
    kind: str = Field(description="text, sticker, image, follow, postback, ...")
    occurred_at: datetime
    text: str | None
    payload: dict[str, Any] = Field(description="LINE's message/postback object as sent")
    line_message_id: str | None
    unsent: bool
    unsent_at: datetime | None
    sender: Literal["bot", "staff", "campaign"] | None
    delivery: Delivery | None

    @classmethod
    def of(cls, row: InteractionRow) -> Interaction:
        """An interaction; an unsent message keeps its place but not its content."""
        unsent = row.unsent_at is not None
        delivery = None
        if row.direction == "out":
            delivery = Delivery(
                status=row.delivery_status,
                method=row.delivery_method,
                attempts=row.attempts,
                sent_at=row.sent_at,
                error_status=row.error_status,
                error_message=row.error_message,
            )
        return cls(
            id=row.id,
            customer_id=row.customer_id,
            direction=row.direction,
            kind=row.kind,
            occurred_at=row.occurred_at,
            text=None if unsent else row.text,
            payload={} if unsent else row.payload,
            line_message_id=row.line_message_id,
            unsent=unsent,
            unsent_at=row.unsent_at,
            sender=row.sender,
            delivery=delivery,
        )


class CustomerEnvelope(Body):
    data: Customer

    @classmethod
    def of(cls, row: CustomerRow) -> CustomerEnvelope:
        return cls(data=Customer.model_validate(row))


class CustomerPage(Body):
    data: list[Customer]
    next_cursor: int | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


class InteractionPage(Body):
    data: list[Interaction]
    next_cursor: int | None = Field(
        description="pass as `cursor` for the next page; null on the last page"
    )


class Error(BaseModel):
    """Every error under /api/v1; `parameter` names the bad input of a 422."""

    error: str
    message: str
    parameter: str | None = None


class PageQuery(BaseModel):
    """Keyset paging: `cursor` is the `next_cursor` of the page before."""

    model_config = ConfigDict(extra="forbid")  # a misspelt parameter is a 422, not ignored

    limit: int = Field(50, ge=1, le=200)
    cursor: int | None = Field(None, ge=1, le=DATABASE_ID_MAX)


class CustomerQuery(PageQuery):
    # LINE user IDs are printable ASCII ("U" and 32 hex digits); anything else cannot match
    # and is refused (a NUL byte would otherwise reach PostgreSQL).
    line_user_id: str | None = Field(None, pattern=r"^[!-~]{1,64}$")
