"""Segments: a JSON condition tree compiled to one SQL condition on `customers`.

    {"all": [COND | {"any": [COND, ...]}, ...]}  or  {"any": [COND | {"all": [...]}, ...]}
    COND = {"field": F, "op": OP, "value": V}

Fields come from a registry (`FIELDS` by name, `PREFIXED` by the part before `:`), so later
features add theirs without touching the compiler. Everything is SQLAlchemy Core: a segment is
counted and listed by the database, never by loading customers into Python."""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from crm.attributes import find_attribute
from crm.field_errors import FieldError
from crm.models import (
    FOLLOW_STATES,
    Customer,
    CustomerAttribute,
    CustomerTag,
    FlowAnswer,
    FlowRun,
    Interaction,
    Tag,
)

MAX_CONDITIONS = 50
LARGEST = 1e15  # numbers compared with; beyond it a database could not bind them (or NaN)
MESSAGE_KINDS = ("text", "sticker", "image", "video", "audio", "file", "location")


class SegmentError(FieldError):
    """A tree that cannot be compiled; `where` names the part at fault (conditions.all[2].op)."""


@dataclass(frozen=True)
class Context:
    """What compiling a condition may need: the session (to find an attribute) and now."""

    session: Session
    now: datetime


Builder = Callable[[Context, str, Any, str], ColumnElement]  # (context, op, value, where)
FIELDS: dict[str, Builder] = {}
PREFIXED: dict[str, Callable[[Context, str, str, Any, str], ColumnElement]] = {}
# Modules that register fields of their own, imported before the first tree is compiled.
FIELD_MODULES = ["crm.topics", "crm.delivery", "crm.loyalty.fields"]
_LOADING = threading.Lock()


def register_field(name: str, builder: Builder) -> None:
    """A field features add (stamps, coupons, topics, clicks…)."""
    FIELDS[name] = builder


def compile_conditions(context: Context, tree: Any) -> ColumnElement:
    """The WHERE condition on `customers` for a tree; SegmentError for any invalid part."""
    _load_field_modules()
    counter = [0]
    return _group(context, tree, "conditions", depth=0, counter=counter)


def _load_field_modules() -> None:
    if not FIELD_MODULES:
        return
    with _LOADING:
        for name in FIELD_MODULES:
            importlib.import_module(name)
        FIELD_MODULES.clear()


def _group(context: Context, tree: Any, where: str, depth: int, counter: list[int]):
    if not isinstance(tree, dict) or len(tree) != 1 or next(iter(tree)) not in ("all", "any"):
        raise SegmentError(where, 'a group is {"all": [...]} or {"any": [...]}')
    ((kind, items),) = tree.items()
    if not isinstance(items, list) or not items:
        raise SegmentError(f"{where}.{kind}", "a group needs at least one condition")
    parts = []
    for index, item in enumerate(items):
        at = f"{where}.{kind}[{index}]"
        if isinstance(item, dict) and set(item) & {"all", "any"}:
            if depth >= 1:
                raise SegmentError(at, "groups nest one level deep")
            parts.append(_group(context, item, at, depth + 1, counter))
        else:
            counter[0] += 1
            if counter[0] > MAX_CONDITIONS:
                raise SegmentError(at, f"at most {MAX_CONDITIONS} conditions")
            parts.append(_condition(context, item, at))
    return and_(*parts) if kind == "all" else or_(*parts)


def _condition(context: Context, item: Any, where: str) -> ColumnElement:
    if not isinstance(item, dict) or not isinstance(item.get("field"), str):
        raise SegmentError(where, 'a condition is {"field", "op", "value"}')
    field, op, value = item["field"], item.get("op"), item.get("value")
    if not isinstance(op, str):
        raise SegmentError(f"{where}.op", "the operator is missing")
    builder = FIELDS.get(field)
    if builder is not None:
        return builder(context, op, value, where)
    prefix, _, rest = field.partition(":")
    if prefix in PREFIXED and rest:
        return PREFIXED[prefix](context, rest, op, value, where)
    raise SegmentError(f"{where}.field", f"unknown field {field!r}")


def _bad_op(where: str, op: str, allowed) -> SegmentError:
    return SegmentError(f"{where}.op", f"{op!r} is not one of {', '.join(allowed)}")


def _text_value(value: Any, where: str) -> str:
    if (
        not isinstance(value, str | int | float)
        or isinstance(value, bool)
        or not storable_text(str(value))
    ):
        raise SegmentError(f"{where}.value", "a text or a number")
    return str(value)[:500]


def storable_text(text: str) -> bool:
    """Text a database can take: no NUL, no lone surrogate (invalid UTF-8)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_id(text: str) -> bool:
    """ASCII digits only (str.isdigit also takes ² and other digits int() refuses)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def _days(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 36500:
        raise SegmentError(f"{where}.value", "a whole number of days")
    return value


# Customer columns ----------------------------------------------------------------------


def _tag(context: Context, op: str, value: Any, where: str) -> ColumnElement:
    name = _text_value(value, where)
    tagged = exists().where(
        CustomerTag.customer_id == Customer.id,
        CustomerTag.tag_id == Tag.id,
        Tag.name == name,
    )
    checks = {"has": tagged, "not_has": not_(tagged)}
    if op not in checks:
        raise _bad_op(where, op, checks)
    return checks[op]


def _equals_column(column, choices: tuple | None = None) -> Builder:
    def build(context: Context, op: str, value: Any, where: str) -> ColumnElement:
        if op not in ("eq", "ne"):
            raise _bad_op(where, op, ("eq", "ne"))
        if choices is not None and value not in choices:
            raise SegmentError(f"{where}.value", f"one of {', '.join(map(str, choices))}")
        if choices is None:
            value = _text_value(value, where)
        return column == value if op == "eq" else or_(column != value, column.is_(None))

    return build


def _days_ago(column) -> Builder:
    """`lt N`: within the last N days; `gt N`: longer ago; `between [a, b]` days ago."""

    def build(context: Context, op: str, value: Any, where: str) -> ColumnElement:
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise SegmentError(f"{where}.value", "[fewest, most] days ago")
            low, high = sorted(_days(v, where) for v in value)
            return column.between(
                context.now - timedelta(days=high), context.now - timedelta(days=low)
            )
        if op not in ("lt", "gt"):
            raise _bad_op(where, op, ("lt", "gt", "between"))
        moment = context.now - timedelta(days=_days(value, where))
        return column > moment if op == "lt" else column < moment

    return build


def is_customer_message(table) -> ColumnElement:
    """A message the customer wrote (not a follow or a tap), with the values written into the
    SQL so both databases use the partial index `ix_interactions_customer_messages`."""
    kinds = bindparam(None, MESSAGE_KINDS, expanding=True).render_literal_execute()
    return and_(table.direction == literal_column("'in'"), table.kind.in_(kinds))


def _last_message(context: Context, op: str, value: Any, where: str) -> ColumnElement:
    """Days since the customer's last message (not a follow or a tap)."""
    last_inbound = (
        select(func.max(Interaction.occurred_at))
        .where(
            Interaction.customer_id == Customer.id,
            is_customer_message(Interaction),
        )
        .scalar_subquery()
    )
    return _days_ago(last_inbound)(context, op, value, where)


def _messages_in_days(context: Context, op: str, value: Any, where: str) -> ColumnElement:
    """`{"field": "messages_in_days", "op": "gte", "value": {"days": 30, "count": 3}}`."""
    if not isinstance(value, dict):
        raise SegmentError(f"{where}.value", '{"days": N, "count": M}')
    days, count = _days(value.get("days"), where), value.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= LARGEST:
        raise SegmentError(f"{where}.value.count", "a whole number of messages")
    counted = (
        select(func.count())
        .where(
            Interaction.customer_id == Customer.id,
            is_customer_message(Interaction),
            Interaction.occurred_at >= context.now - timedelta(days=days),
        )
        .scalar_subquery()
    )
    return _compare(counted, op, count, where)


def _consent(context: Context, op: str, value: Any, where: str) -> ColumnElement:
    if op != "eq" or not isinstance(value, bool):
        raise SegmentError(where, 'marketing_consent takes "eq" with true or false')
    return (
        Customer.marketing_consent.is_(true()) if value else Customer.marketing_consent.is_(false())
    )


COMPARISONS = {
    "eq": lambda c, v: c == v,
    "ne": lambda c, v: c != v,
    "lt": lambda c, v: c < v,
    "lte": lambda c, v: c <= v,
    "gt": lambda c, v: c > v,
    "gte": lambda c, v: c >= v,
}


def _compare(column, op: str, value: Any, where: str) -> ColumnElement:
    if op not in COMPARISONS:
        raise _bad_op(where, op, COMPARISONS)
    return COMPARISONS[op](column, value)


# Attributes and survey answers ---------------------------------------------------------


def _attribute(context: Context, name: str, op: str, value: Any, where: str) -> ColumnElement:
    definition = find_attribute(context.session, name) if storable_text(name) else None
    if definition is None:
        raise SegmentError(f"{where}.field", f"no customer attribute named {name!r}")
    stored = CustomerAttribute.value
    numeric = definition.kind == "number"
    column = cast(stored, Float) if numeric else stored
    row = exists().where(
        CustomerAttribute.customer_id == Customer.id,
        CustomerAttribute.definition_id == definition.id,
    )
    if op == "is_set":
        return row
    if op == "not_set":
        return not_(row)
    if op == "contains":
        return row.where(_contains(context, stored, _text_value(value, where)))
    if op == "in":
        if not isinstance(value, list) or not value:
            raise SegmentError(f"{where}.value", "a list of values")
        return row.where(column.in_([_typed(v, numeric, where) for v in value]))
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise SegmentError(f"{where}.value", "[low, high]")
        low, high = (_typed(v, numeric, where) for v in value)
        return row.where(column.between(low, high))
    if op == "ne":
        return not_(row.where(column == _typed(value, numeric, where)))
    return row.where(_compare(column, op, _typed(value, numeric, where), where))


def _dialect(context: Context) -> str:
    return context.session.get_bind().dialect.name


def _contains(context: Context, column, needle: str) -> ColumnElement:
    """A case-sensitive substring test on both databases (SQLite's LIKE ignores ASCII case)."""
    find = func.instr if _dialect(context) == "sqlite" else func.strpos
    return find(column, needle) > 0


def _escaped(text: str) -> str:
    """Text for LIKE, its wildcards taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _typed(value: Any, numeric: bool, where: str):
    if not numeric:
        return _text_value(value, where)
    if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) <= LARGEST:
        raise SegmentError(f"{where}.value", f"a number between -{LARGEST:.0e} and {LARGEST:.0e}")
    return float(value)  # bound as a double: 10**15 does not fit PostgreSQL's INTEGER


def _survey_answer(context: Context, rest: str, op: str, value: Any, where: str) -> ColumnElement:
    """`survey:<id>:<key>`: the customer's answer to that question in any run of that survey;
    `eq` / `ne` match a choice (also inside a multiple-choice answer) or a number exactly;
    `lt` … `gte` compare numeric answers; `answered` / `not_answered` take no value."""
    survey_id, _, key = rest.partition(":")
    if not _is_id(survey_id) or not key or not storable_text(key):
        raise SegmentError(f"{where}.field", "survey:<survey id>:<question key>")
    answer = exists().where(
        FlowRun.customer_id == Customer.id,
        FlowRun.flow_id == int(survey_id),
        FlowAnswer.run_id == FlowRun.id,
        FlowAnswer.step_key == key,
        FlowAnswer.value.is_not(None),
    )
    if op == "answered":
        return answer
    if op == "not_answered":
        return not_(answer)
    json_ops = JSON_ANSWERS[_dialect(context)]
    if op in ("eq", "ne"):
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise SegmentError(f"{where}.value", "a text or a number")
        wanted = _text_value(value, where) if isinstance(value, str) else _typed(value, True, where)
        chosen = answer.where(json_ops.equals(wanted))
        return chosen if op == "eq" else not_(chosen)
    if op in COMPARISONS:
        number = _typed(value, True, where)
        return answer.where(json_ops.number_compared(op, number))
    raise _bad_op(where, op, ("eq", "ne", "lt", "lte", "gt", "gte", "answered", "not_answered"))


class _SQLiteAnswers:
    """Answers are JSON text in SQLite: json_type / json_extract / json_each read them."""

    @staticmethod
    def equals(wanted) -> ColumnElement:
        kinds = ("text",) if isinstance(wanted, str) else ("integer", "real")
        scalar = and_(
            func.json_type(FlowAnswer.value).in_(kinds),
            func.json_extract(FlowAnswer.value, "$") == wanted,
        )
        item = func.json_each(FlowAnswer.value).table_valued("type", "value").alias("item")
        inside = exists(
            select(literal(1))
            .select_from(item)
            .where(item.c.type.in_(kinds), item.c.value == wanted)
        )
        return or_(scalar, and_(func.json_type(FlowAnswer.value) == "array", inside))

    @staticmethod
    def number_compared(op: str, number) -> ColumnElement:
        extracted = func.json_extract(FlowAnswer.value, "$")
        numeric = func.json_type(FlowAnswer.value).in_(("integer", "real"))
        return and_(numeric, COMPARISONS[op](extracted, number))


class _PostgresAnswers:
    """Answers are JSONB in PostgreSQL: compared as JSON values, lists by containment."""

    @staticmethod
    def equals(wanted) -> ColumnElement:
        as_json = cast(literal(json.dumps(wanted)), JSONB)
        in_list = cast(literal(json.dumps([wanted])), JSONB)
        is_array = func.jsonb_typeof(FlowAnswer.value) == "array"
        listed = FlowAnswer.value.op("@>", return_type=Boolean)(in_list)
        return or_(FlowAnswer.value == as_json, and_(is_array, listed))

    @staticmethod
    def number_compared(op: str, number) -> ColumnElement:
        is_number = func.jsonb_typeof(FlowAnswer.value) == "number"
        # CASE keeps PostgreSQL from casting a text answer (it may evaluate in any order).
        text_of = FlowAnswer.value.op("#>>")(literal_column("'{}'"))
        as_float = case((is_number, cast(text_of, Float)))
        return and_(is_number, COMPARISONS[op](as_float, number))


JSON_ANSWERS = {"sqlite": _SQLiteAnswers, "postgresql": _PostgresAnswers}


register_field("tag", _tag)
register_field("follow_status", _equals_column(Customer.follow_status, FOLLOW_STATES))
register_field("language", _equals_column(Customer.language))
register_field("marketing_consent", _consent)
register_field("followed_days", _days_ago(Customer.followed_at))
register_field("first_contact_days", _days_ago(Customer.first_contact_at))
register_field("last_contact_days", _days_ago(Customer.last_contact_at))
register_field("last_message_days", _last_message)
register_field("messages_in_days", _messages_in_days)
PREFIXED["attribute"] = _attribute
PREFIXED["survey"] = _survey_answer


def count_matching(session: Session, tree: Any, now: datetime) -> int:
    condition = compile_conditions(Context(session, now), tree)
    return session.scalar(select(func.count()).select_from(Customer).where(condition))


def matching_customers(
    session: Session, tree: Any, now: datetime, before_id: int | None = None, limit: int = 50
) -> list[Customer]:
    """Matching customers, newest first (keyset by id)."""
    statement = select(Customer).where(compile_conditions(Context(session, now), tree))
    if before_id is not None:
        statement = statement.where(Customer.id < before_id)
    return list(session.scalars(statement.order_by(Customer.id.desc()).limit(limit)))
