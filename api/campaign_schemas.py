"""Bodies of /api/v1/campaigns and of customers' topics and consent. The messages, audience,
schedule and topic are checked by crm/campaigns.py; a 422 names the field at fault
(messages[1].text, send_at, topic, conditions.all[0].op)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, ConfigDict, Field, StrictBool, field_validator

from api.schemas import Body
from api.segment_schemas import _json_safe
from api.survey_schemas import Input, Text


class CampaignIn(Input):
    name: Text = Field(min_length=1, max_length=100)
    segment_id: int | None = Field(None, ge=1, le=2**53, description="a saved segment")
    conditions: dict[str, Any] | None = Field(
        None, description="an audience of its own (as /segments); neither: every friend"
    )
    messages: list[dict[str, Any]] = Field(
        description="1-5 LINE message objects: text ({name} is the customer's name), image, "
        'sticker, flex, {"type": "flex", "template": NAME, "values": {...}}, or one '
        '{"type": "coupon", "coupon_id": N}: each recipient gets a code of their own'
    )
    send_at: AwareDatetime | None = Field(None, description="ISO 8601 with offset; absent: now")
    recurrence: Text | None = Field(
        None, max_length=100, description="cron in the shop's time zone: '30 10 * * fri'"
    )
    topic: Text | None = Field(None, max_length=50, description="a topic name, e.g. ランチ情報")
    holdout_percent: int = Field(0, ge=0, le=50, description="a stable control group, never sent")

    @field_validator("conditions", "messages")
    @classmethod
    def _safe(cls, value: Any) -> Any:
        return _json_safe(value)


class HeldBack(Body):
    """Recipients held back, by reason. A coupon campaign adds `coupon_limit`, `sold_out` and
    `coupon_ended` when some recipients could not be issued a code (crm/campaign_coupons.py)."""

    model_config = ConfigDict(extra="allow", from_attributes=True)
    __pydantic_extra__: dict[str, int]

    blocked: int
    no_consent: int
    topic: int
    frequency_cap: int
    holdout: int


class CampaignCounts(Body):
    recipients: int
    sent: int
    failed: int
    pending: int
    held_back: HeldBack
    deferred: int
    cancelled: int


class Campaign(Body):
    id: int
    name: str
    status: str = Field(description="draft, scheduled, sending, sent, cancelled or paused")
    segment_id: int | None
    conditions: dict[str, Any] | None
    messages: list[dict[str, Any]]
    topic: str | None
    send_at: datetime | None
    recurrence: str | None
    timezone: str
    holdout_percent: int
    next_run_at: datetime | None
    personalised: bool = Field(description="names the customer: pushed one by one")
    created_via: str
    created_at: datetime
    approved_at: datetime | None
    counts: CampaignCounts


class CampaignList(Body):
    data: list[Campaign]


class Preview(Body):
    would_send: int
    deferred: int
    held_back: HeldBack
    method: str = Field(description="multicast, or push when the messages name the customer")


class SubscriptionIn(Input):
    subscribed: StrictBool


class Subscription(Body):
    topic: str
    subscribed: StrictBool


class ConsentIn(Input):
    marketing: StrictBool


class Consent(Body):
    marketing: StrictBool
    topics: list[Subscription]


class Topic(Body):
    id: int
    name: str
    description: str | None
    active: bool


class TopicList(Body):
    data: list[Topic]
