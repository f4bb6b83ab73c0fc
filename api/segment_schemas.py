"""Bodies of /api/v1/segments. The tree's shape and meaning are checked by crm/segments.py
(a 422 names the part: conditions.all[2].op)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from api.schemas import Body
from api.survey_schemas import Input, Text


def _json_safe(value: Any) -> Any:
    """No NUL characters, NaN or huge integers anywhere in the tree (PostgreSQL's JSONB and
    SQLite's integers refuse them)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
        raise ValueError("numbers must be at most 2**53")
    if isinstance(value, dict):
        for key, item in value.items():
            _json_safe(key)
            _json_safe(item)
    if isinstance(value, list):
        for item in value:
            _json_safe(item)
    return value


class ConditionsIn(Input):
    conditions: dict[str, Any] = Field(
        description='{"all": [COND | {"any": [COND, ...]}, ...]} or {"any": [...]}; '
        'COND = {"field", "op", "value"}'
    )

    @field_validator("conditions")
    @classmethod
    def _no_nul(cls, value: dict[str, Any]) -> dict[str, Any]:
        return _json_safe(value)


class SegmentIn(ConditionsIn):
    name: Text = Field(min_length=1, max_length=100)


class SegmentCount(Body):
    count: int


class Segment(Body):
    id: int
    name: str
    conditions: dict[str, Any]
    count: int = Field(description="customers matching now")
    created_at: datetime


class SegmentEnvelope(Body):
    data: Segment

    @classmethod
    def of(cls, row, count: int) -> SegmentEnvelope:
        return cls(
            data=Segment(
                id=row.id,
                name=row.name,
                conditions=row.conditions,
                count=count,
                created_at=row.created_at,
            )
        )
