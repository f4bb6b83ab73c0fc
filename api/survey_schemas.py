"""Bodies of /api/v1/surveys and of the customer write endpoints. Input models check shape
and types (422 naming the field); `crm/flow_steps.check_steps` checks what a survey means
(branches, keys, LINE's limits)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, FiniteFloat, StrictInt

from api.schemas import DATABASE_ID_MAX, Body
from crm.flow_steps import STEP_TYPES


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


Text = Annotated[str, AfterValidator(_no_nul)]
Number = StrictInt | FiniteFloat
StepType = Literal[STEP_TYPES]  # type: ignore[valid-type]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ChoiceIn(Input):
    label: Text
    value: Text | StrictInt
    tags: list[Text] | None = None
    remove_tags: list[Text] | None = None


class ConditionIn(Input):
    op: Literal["lte", "gte", "eq", "in"]
    value: Number | Text | list[Number | Text]


class BranchIn(Input):
    if_: ConditionIn = Field(alias="if")
    goto: Text = Field(description='a later question\'s key, or "end"')
    tags: list[Text] | None = Field(None, description="tags added when this branch is taken")
    needs_reply: bool = Field(False, description="put the chat in the needs-reply folder")


class QuestionIn(Input):
    key: Text
    text: Text
    type: StepType
    choices: list[ChoiceIn] | None = None
    attribute: Text | None = Field(None, description="a customer attribute's key or label")
    branches: list[BranchIn] | None = None
    next: Text | None = Field(
        None, description='where to go when no branch is taken: a later key or "end"'
    )
    min: Number | None = None
    max: Number | None = None
    max_length: StrictInt | None = None
    on_unreadable: Literal["skip", "end"] | None = None


class SurveyIn(Input):
    name: Text = Field(min_length=1, max_length=100)
    keyword: Text | None = Field(None, max_length=50)
    on_follow: bool = False
    expire_hours: int = Field(24, ge=1, le=24 * 30, description="a quiet run expires after")
    remind_after_hours: int | None = Field(
        None, ge=1, le=24 * 30, description="one reminder after this long quiet; null: none"
    )
    thanks: Text | None = Field(None, max_length=5000)
    reward_coupon_id: int | None = Field(
        None, ge=1, le=DATABASE_ID_MAX, description="a coupon each customer gets on completing it"
    )
    questions: list[QuestionIn] = Field(min_length=1, max_length=50)

    def questions_json(self) -> list[dict[str, Any]]:
        return [q.model_dump(by_alias=True, exclude_none=True) for q in self.questions]


class SurveyChange(Input):
    """Only the fields given change; new questions become a new version. null clears the
    keyword, the thanks and the reminder, and leaves the other fields as they are."""

    name: Text | None = Field(None, min_length=1, max_length=100)
    keyword: Text | None = Field(None, max_length=50, description='"" removes the keyword')
    on_follow: bool | None = None
    active: bool | None = None
    expire_hours: int | None = Field(None, ge=1, le=24 * 30)
    remind_after_hours: int | None = Field(None, ge=0, le=24 * 30, description="0: no reminder")
    thanks: Text | None = Field(None, max_length=5000)
    reward_coupon_id: int | None = Field(
        None, ge=1, le=DATABASE_ID_MAX, description="the completion reward; null: none"
    )
    questions: list[QuestionIn] | None = Field(None, min_length=1, max_length=50)

    def questions_json(self) -> list[dict[str, Any]]:
        return [q.model_dump(by_alias=True, exclude_none=True) for q in self.questions or ()]


class Survey(Body):
    id: int
    name: str
    keyword: str | None
    on_follow: bool
    active: bool
    version: int
    expire_hours: int
    remind_after_hours: int | None
    thanks: str | None
    reward_coupon_id: int | None = Field(description="the coupon a completed run earns")
    questions: list[dict[str, Any]]
    runs: dict[str, int] = Field(description="runs by status")
    created_at: datetime


class SurveyEnvelope(Body):
    data: Survey


class SurveyList(Body):
    data: list[Survey]


class SendIn(Input):
    customer_ids: list[Annotated[int, Field(ge=1, le=DATABASE_ID_MAX)]] = Field(
        min_length=1, max_length=500
    )


class SendResult(Body):
    customer_id: int
    started: bool
    run_id: int | None
    reason: str | None = Field(description="why not: no_such_customer, blocked, in_a_run, inactive")


class SendResults(Body):
    data: list[SendResult]


class SurveyResponse(Body):
    run_id: int
    customer_id: int
    status: Literal["in_progress", "completed", "cancelled", "expired"]
    answers: dict[str, Any] = Field(
        description="by question key: text, a list (multiple choice), a number, ISO date, null"
    )
    started_at: datetime
    completed_at: datetime | None


class SurveyResponsePage(Body):
    data: list[SurveyResponse]
    next_cursor: int | None


class AttributeIn(Input):
    value: Text | None = Field(max_length=500, description="null clears the value")


class AttributeValue(Body):
    name: str
    value: str | None


class TagIn(Input):
    tag: Text = Field(min_length=1, max_length=50)


class CustomerTags(Body):
    tags: list[str]
