"""Bodies of /api/v1/customers/<id>/preferences: marketing consent and topic choices, keyed by
topic name (or id), with the recent history of changes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StrictBool

from api.schemas import Body
from api.survey_schemas import Input, Text

TopicKey = Annotated[Text, Field(min_length=1, max_length=50)]


class PreferencesIn(Input):
    """Only what is given changes; a value already set records nothing."""

    topics: dict[TopicKey, StrictBool] | None = Field(
        None,
        max_length=100,
        description='topic name (or id) → subscribed: {"ランチ情報": true, "イベント": false}',
    )
    marketing: StrictBool | None = Field(
        None, description="marketing consent; false stops every campaign and step message"
    )


class TopicPreference(Body):
    id: int
    name: str
    description: str | None
    subscribed: StrictBool


class PreferenceChange(Body):
    occurred_at: datetime
    subject: Literal["marketing", "topic"]
    topic: str | None = Field(description="the topic's name; null for marketing consent")
    topic_id: int | None
    value: StrictBool
    channel: Literal["chat", "staff", "api"]
    wording: str | None = Field(description="what the customer saw when they chose (chat)")
    staff_id: int | None = Field(description="the staff member who made a staff change")


class Preferences(Body):
    customer_id: int
    marketing: StrictBool
    topics: dict[str, StrictBool] = Field(description="active topic name → subscribed")
    subscriptions: list[TopicPreference] = Field(description="active topics in the shop's order")
    history: list[PreferenceChange] = Field(description="the newest changes first (up to 20)")


class PreferencesChanged(Preferences):
    changed: list[str] = Field(description='what this request changed: "marketing", topic names')
