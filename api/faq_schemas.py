"""Bodies of the FAQ endpoints. Input models check shape and types; crm/faq checks what they
mean (a 422 names the field: `questions`, `questions[2]`, `answer`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, StrictBool

from api.schemas import Body
from api.survey_schemas import Input, Text

Decision = Literal["answer", "suggest", "handoff"]


class FaqIn(Input):
    questions: list[Text] = Field(
        description="example questions customers might send, at least one (up to 50)",
        json_schema_extra={"minItems": 1, "maxItems": 50},
    )
    answer: Text = Field(description="the answer's text (for a Flex answer: its alt text)")
    category: Text | None = Field(None, description="e.g. 予約, 営業時間・アクセス, 商品, その他")
    active: StrictBool = Field(True, description="inactive FAQs are never matched")
    answer_kind: Literal["text", "flex"] = "text"
    answer_flex: dict[str, Any] | None = Field(
        None, description='with answer_kind "flex": a Flex container ({"type": "bubble", …})'
    )
    quick_replies: list[Text] = Field(
        default_factory=list, description="words offered under the answer (up to 11)"
    )


class Faq(Body):
    id: int
    questions: list[str]
    answer: str
    category: str | None
    active: bool
    answer_kind: str
    answer_flex: dict[str, Any] | None
    quick_replies: list[str]
    created_at: datetime
    updated_at: datetime


class FaqList(Body):
    data: list[Faq]


class MatchIn(Input):
    text: Text = Field(min_length=1, max_length=5000, description="a customer's message")


class MatchItem(Body):
    id: int
    score: float = Field(description="0..1, higher is closer")
    category: str | None
    question: str = Field(description="the FAQ's first example question")


class MatchOut(Body):
    decision: Decision = Field(
        description="what the bot does with this text: answer with matches[0], suggest the "
        "matches (もしかして), or hand the message to staff"
    )
    matches: list[MatchItem] = Field(description="the closest FAQs, best first (up to 3)")
