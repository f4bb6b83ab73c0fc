"""Segments against a brute-force filter: random shops and random condition trees, every field
and operator, each answer compared with what plain Python says about the same facts; SQL
injection attempts in values, field names and attribute names change nothing.

A test makes what its shops share (attributes, topics, campaigns, surveys, tags) in one
transaction; each hypothesis example adds its customers in a savepoint and rolls it back, and
the transaction is rolled back at the end, so nothing needs emptying. Every moment is whole
days plus half a day before `NOW`, never within a second of a condition's boundary."""

from __future__ import annotations

import json
import operator
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, inspect, select

from crm.attributes import define_attribute, set_customer_value
from crm.db import Database
from crm.flows import newest_version
from crm.models import (
    FOLLOW_STATES,
    AttributeDefinition,
    Campaign,
    CampaignRecipient,
    CampaignRun,
    Customer,
    CustomerTag,
    FlowAnswer,
    FlowRun,
    Interaction,
    Topic,
)
from crm.segments import LARGEST, MESSAGE_KINDS, SegmentError, count_matching, matching_customers
from crm.surveys import create_survey
from crm.tags import find_or_create_tag
from crm.topics import all_topics, create_topic, set_topic_subscription
from tests import line_payloads as lp

NOW = datetime(2026, 4, 15, 3, 0, tzinfo=UTC)
DROP = "'; DROP TABLE customers; --"
TAGS = ["ランチ", "ディナー", "常連", "VIP", "vip", "1", DROP, "%", "_", "\\", "O'Brien", '"q"']
LANGUAGES = ["ja", "en", "zh-TW", "JA", None]
# key: (label, kind, choices, raw values staff type in); the last label is itself an injection.
ATTRIBUTES = {
    "rank": ("会員ランク", "choice", ["ゴールド", "シルバー", "100%", DROP], None),
    "visits": ("来店回数", "number", [], ["0", "3", "12", "12.50", "1,000", "-5", "0.00001"]),
    "memo": ("メモ", "text", [], ["lunch", "Lunch", "LUNCH", "ランチ好き", "a_c", "abc", "a%c",
                                 "back\\slash", "x'y", '"q"', "12", DROP]),
    "birthday": ("誕生日", "date", [], ["1990-01-31", "2000-02-29", "2024/12/01", "1985-07-07"]),
    "nasty": ("x'; DROP TABLE customers;--", "text", [], ["' OR 1=1 --", "%", "_"]),
}  # fmt: skip
TOPICS = ["ランチ情報", "イベント", "'; DROP TABLE topics; --", "100%_off", "7"]
SURVEYS = [
    ("来店", [
        {"key": "scene", "text": "シーンは？", "type": "multiple_choice", "choices": [
            {"label": "ランチ", "value": "lunch"}, {"label": "夜", "value": "dinner"},
            {"label": "らんち", "value": "ランチ"}]},
        {"key": "rating", "text": "満足度は？", "type": "rating"},
        {"key": "nps", "text": "おすすめ度は？", "type": "nps"},
        {"key": "memo", "text": "一言どうぞ", "type": "text"},
    ]),
    ("一問", [
        {"key": "scene", "text": "シーンは？", "type": "single_choice", "choices": [
            {"label": "ランチ", "value": "lunch"}, {"label": "悪", "value": DROP}]},
        {"key": "people", "text": "何名様？", "type": "number"},
    ]),
]  # fmt: skip
ANSWER_TEXTS = ["1人", "10", "null", "ランチ最高", "lunch", 'say "hi"', "100%", "a\\b"]
ANSWERS = {
    "multiple_choice": st.sets(st.sampled_from(["lunch", "dinner", "ランチ"]), min_size=1).map(
        sorted
    ),
    "single_choice": st.sampled_from(["lunch", DROP]),
    "rating": st.integers(1, 5),
    "nps": st.integers(0, 10),
    "number": st.sampled_from([0, 1, 2, 2.5, 10, 12, -1]),
    "text": st.sampled_from(ANSWER_TEXTS),
}
NUMERIC_QUESTIONS = ("rating", "nps", "number")
INTERACTION_KINDS = (*MESSAGE_KINDS, "follow", "postback", "unfollow")
COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}
DAYS_FIELDS = {
    "followed_days": "followed_at",
    "first_contact_days": "first_contact_at",
    "last_contact_days": "last_contact_at",
}


def _ago(days: int) -> datetime:
    return NOW - timedelta(days=days, hours=12)


# The shop -----------------------------------------------------------------------------------


@dataclass
class Person:
    """What the brute-force filter knows about one customer."""

    id: int
    tags: set[str]
    follow_status: str
    language: str | None
    consent: bool
    moments: dict[str, datetime | None]  # followed_at, first_contact_at, last_contact_at
    messages: list[datetime] = field(default_factory=list)  # inbound, message kinds only
    attributes: dict[str, str] = field(default_factory=dict)  # key → stored text
    opted_out: set[int] = field(default_factory=set)  # topic ids
    received: list[tuple[int, datetime]] = field(default_factory=list)  # (campaign, sent_at)
    answers: dict[tuple[int, str], list[Any]] = field(default_factory=dict)  # not skipped


@dataclass
class Shop:
    people: list[Person]
    topics: dict[int, str]  # id → name
    campaigns: list[int]
    surveys: dict[int, dict[str, str]]  # survey id → question key → question type

    def attribute(self, name: str) -> tuple[str, str] | None:
        """(key, kind) of the attribute with this key or label."""
        for key, (label, kind, _choices, _values) in ATTRIBUTES.items():
            if name in (key, label):
                return key, kind
        return None

    def topic(self, text: str) -> int | None:
        """The topic id `find_topic` gives: digits are an id first, then a name."""
        number = _digits(text)
        if number is not None and len(text) < 18 and number in self.topics:
            return number
        return next((id_ for id_, name in self.topics.items() if name == text), None)


def _digits(text: str) -> int | None:
    """The number of what `str.isdigit()` takes (full-width digits too), None for the rest."""
    try:
        return int(text) if text.isdigit() else None
    except ValueError:  # "²" is a digit to isdigit(), not to int()
        return None


def _moment():
    return st.none() | st.integers(0, 400).map(_ago)


def _survey_runs():
    def answers(questions):
        return st.fixed_dictionaries(
            {}, optional={q["key"]: st.none() | ANSWERS[q["type"]] for q in questions}
        )

    run = st.one_of(
        *[
            answers(questions).map(lambda a, i=i: (i, a))
            for i, (_n, questions) in enumerate(SURVEYS)
        ]
    )
    return st.lists(run, max_size=3)


PEOPLE = st.lists(
    st.fixed_dictionaries(
        {
            "tags": st.sets(st.sampled_from(TAGS), max_size=3),
            "follow_status": st.sampled_from(FOLLOW_STATES),
            "language": st.sampled_from(LANGUAGES),
            "consent": st.booleans(),
            "moments": st.fixed_dictionaries({name: _moment() for name in DAYS_FIELDS.values()}),
            "interactions": st.lists(
                st.tuples(
                    st.sampled_from(["in", "out"]),
                    st.sampled_from(INTERACTION_KINDS),
                    st.integers(0, 120),
                ),
                max_size=6,
            ),
            "attributes": st.fixed_dictionaries(
                {},
                optional={
                    key: st.sampled_from(values or choices)
                    for key, (_label, _kind, choices, values) in ATTRIBUTES.items()
                },
            ),
            "topics": st.dictionaries(st.integers(0, len(TOPICS) - 1), st.booleans(), max_size=3),
            "receipts": st.dictionaries(
                st.tuples(st.integers(0, 2), st.integers(0, 1)),  # (campaign, run)
                st.tuples(st.sampled_from(["sent", "held_back"]), st.integers(0, 120)),
                max_size=4,
            ),
            "runs": _survey_runs(),
        }
    ),
    min_size=8,
    max_size=20,
)


@dataclass
class Catalogue:
    """What every shop of a test shares, made once: attribute definitions, topics, three
    campaigns with two runs each (run id, campaign id), surveys (id, version id), tags."""

    definitions: dict[str, AttributeDefinition]
    topics: list[Topic]
    runs: list[list[tuple[int, int]]]
    surveys: list[tuple[int, int]]
    tags: dict[str, int]


def build_catalogue(session) -> Catalogue:
    """The shared part, through the services staff use."""
    definitions = {
        key: define_attribute(session, key, label, kind, choices)
        for key, (label, kind, choices, _values) in ATTRIBUTES.items()
    }
    # The migration adds topics of its own (ランチ情報…): they count as well. By name only:
    # find_topic("7") is the topic whose id is 7.
    topics = [
        session.scalar(select(Topic).where(Topic.name == name)) or create_topic(session, name)
        for name in TOPICS
    ]
    surveys = [create_survey(session, name, questions) for name, questions in SURVEYS]
    return Catalogue(
        definitions,
        topics,
        [_campaign_runs(session, number) for number in range(3)],
        [(survey.id, newest_version(session, survey).id) for survey in surveys],
        {name: find_or_create_tag(session, name).id for name in TAGS},
    )


def _campaign_runs(session, number: int) -> list[tuple[int, int]]:
    """A recurring campaign with two runs, so a customer can get it twice."""
    messages = [{"type": "text", "text": f"お知らせ{number}"}]
    campaign = Campaign(
        name=f"キャンペーン{number}",
        messages=messages,
        status="sent",
        timezone="Asia/Tokyo",
        holdout_percent=0,
        created_via="api",
    )
    session.add(campaign)
    session.flush()
    runs = [
        CampaignRun(
            campaign_id=campaign.id,
            scheduled_for=_ago(days),
            status="sent",
            messages=messages,
            personalised=False,
            started_at=_ago(days),
        )
        for days in (130, 30)
    ]
    session.add_all(runs)
    session.flush()
    return [(run.id, campaign.id) for run in runs]


def add_people(session, catalogue: Catalogue, specs: list[dict]) -> Shop:
    """The customers of `specs` with everything segments read; the Python facts alongside."""
    customers = [
        Customer(
            line_user_id=lp.new_user_id(),
            follow_status=spec["follow_status"],
            language=spec["language"],
            marketing_consent=spec["consent"],
            **spec["moments"],
        )
        for spec in specs
    ]
    session.add_all(customers)
    session.flush()
    people, runs = [], []
    with session.no_autoflush:
        for customer, spec in zip(customers, specs, strict=True):
            person = Person(
                id=customer.id,
                tags=spec["tags"],
                follow_status=spec["follow_status"],
                language=spec["language"],
                consent=spec["consent"],
                moments=spec["moments"],
            )
            session.add_all(
                CustomerTag(customer_id=customer.id, tag_id=catalogue.tags[name])
                for name in spec["tags"]
            )
            _add_interactions(session, person, spec["interactions"])
            _add_choices(session, catalogue, customer, person, spec)
            _add_receipts(session, catalogue, person, spec["receipts"])
            runs += _survey_runs_of(session, catalogue, person, spec["runs"])
            people.append(person)
    session.flush()
    _add_answers(session, runs)
    session.flush()
    return Shop(
        people,
        {topic.id: topic.name for topic in all_topics(session)},
        [campaign for (_run, campaign), _second in catalogue.runs],
        {
            survey: {q["key"]: q["type"] for q in questions}
            for (survey, _version), (_name, questions) in zip(
                catalogue.surveys, SURVEYS, strict=True
            )
        },
    )


def _add_interactions(session, person: Person, interactions) -> None:
    for direction, kind, days in interactions:
        session.add(
            Interaction(
                customer_id=person.id, direction=direction, kind=kind, occurred_at=_ago(days)
            )
        )
        if direction == "in" and kind in MESSAGE_KINDS:
            person.messages.append(_ago(days))


def _add_choices(session, catalogue: Catalogue, customer, person: Person, spec) -> None:
    """Attribute values and topic choices, through the services staff use."""
    for key, raw in spec["attributes"].items():
        definition = catalogue.definitions[key]
        person.attributes[key] = set_customer_value(session, customer.id, definition, raw)
    for index, subscribed in spec["topics"].items():
        topic = catalogue.topics[index]
        set_topic_subscription(session, customer, topic, subscribed, NOW, "staff")
        if not subscribed:
            person.opted_out.add(topic.id)


def _add_receipts(session, catalogue: Catalogue, person: Person, receipts) -> None:
    for (campaign, number), (status, days) in receipts.items():
        run_id, campaign_id = catalogue.runs[campaign][number]
        sent = status == "sent"
        session.add(
            CampaignRecipient(
                run_id=run_id,
                campaign_id=campaign_id,
                customer_id=person.id,
                status=status,
                reason=None if sent else "holdout",
                sent_at=_ago(days) if sent or days % 2 else None,  # held back: sent_at is no help
            )
        )
        if sent:
            person.received.append((campaign_id, _ago(days)))


def _survey_runs_of(session, catalogue: Catalogue, person: Person, runs) -> list:
    """Finished runs of the surveys; their answers follow once the runs have ids."""
    made = []
    for index, answers in runs:
        survey, version = catalogue.surveys[index]
        run = FlowRun(
            customer_id=person.id,
            flow_id=survey,
            version_id=version,
            status="completed",
            trigger="api",
            started_at=NOW,
            last_activity_at=NOW,
            expires_at=NOW,
            finished_at=NOW,
        )
        session.add(run)
        made.append((run, answers))
        for key, value in answers.items():
            if value is not None:  # skipped: stored as SQL NULL, never an answer
                person.answers.setdefault((survey, key), []).append(value)
    return made


def _add_answers(session, runs) -> None:
    session.add_all(
        FlowAnswer(run_id=run.id, flow_id=run.flow_id, step_key=key, value=value, answered_at=NOW)
        for run, answers in runs
        for key, value in answers.items()
    )


# The brute-force filter -----------------------------------------------------------------------


class Rejected(Exception):
    """The compiler must refuse this condition with a SegmentError."""


def _text(value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise Rejected
    return _storable(str(value))[:500]


def _storable(text: str) -> str:
    """Text a database takes: no NUL (PostgreSQL), no lone surrogate (neither)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        raise Rejected from None
    if "\x00" in text:
        raise Rejected
    return text


def _days(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 36500:
        raise Rejected
    return value


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not abs(value) <= LARGEST:
        raise Rejected
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(left, op: str, right) -> bool:
    if op not in COMPARE:
        raise Rejected
    return COMPARE[op](left, right)


def _tag(shop: Shop, person: Person, op: str, value: Any) -> bool:
    name = _text(value)
    if op not in ("has", "not_has"):
        raise Rejected
    return (name in person.tags) == (op == "has")


def _follow_status(shop: Shop, person: Person, op: str, value: Any) -> bool:
    if op not in ("eq", "ne") or value not in FOLLOW_STATES:
        raise Rejected
    return (person.follow_status == value) == (op == "eq")


def _language(shop: Shop, person: Person, op: str, value: Any) -> bool:
    if op not in ("eq", "ne"):
        raise Rejected
    return (person.language == _text(value)) == (op == "eq")  # ne: a NULL language is "not"


def _consent(shop: Shop, person: Person, op: str, value: Any) -> bool:
    if op != "eq" or not isinstance(value, bool):
        raise Rejected
    return person.consent == value


def _days_ago(moment: datetime | None, op: str, value: Any) -> bool:
    """`lt N`: within the last N days; `gt N`: longer ago; `between`: either order."""
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise Rejected
        low, high = sorted(_days(v) for v in value)
        since, until = NOW - timedelta(days=high), NOW - timedelta(days=low)
        return moment is not None and since <= moment <= until
    if op not in ("lt", "gt"):
        raise Rejected
    limit = NOW - timedelta(days=_days(value))
    if moment is None:
        return False
    return moment > limit if op == "lt" else moment < limit


def _column_days(column: str):
    return lambda shop, person, op, value: _days_ago(person.moments[column], op, value)


def _last_message(shop: Shop, person: Person, op: str, value: Any) -> bool:
    return _days_ago(max(person.messages, default=None), op, value)


def _messages_in_days(shop: Shop, person: Person, op: str, value: Any) -> bool:
    if not isinstance(value, dict):
        raise Rejected
    days, count = _days(value.get("days")), value.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= LARGEST:
        raise Rejected
    since = NOW - timedelta(days=days)
    return _compare(sum(moment >= since for moment in person.messages), op, count)


def _is_value(stored: str | None, wanted: Any, numeric: bool) -> bool:
    """A stored attribute value is the wanted one: as numbers for a number attribute (which
    takes numbers only)."""
    if numeric:
        wanted = _number(wanted)
        return stored is not None and float(stored) == wanted
    text = _text(wanted)
    return stored is not None and stored == text


def _attribute(shop: Shop, person: Person, name: str, op: str, value: Any) -> bool:
    found = shop.attribute(name)
    if found is None:
        raise Rejected
    key, kind = found
    stored, numeric = person.attributes.get(key), kind == "number"
    if op in ("is_set", "not_set"):
        return (stored is not None) == (op == "is_set")
    if op == "contains":
        return stored is not None and _text(value) in stored
    if op == "in":
        if not isinstance(value, list) or not value:
            raise Rejected
        return any([_is_value(stored, v, numeric) for v in value])  # each one checked
    if op == "ne":
        return not _is_value(stored, value, numeric)  # "not set to that value"
    typed = _number if numeric else _text
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise Rejected
        low, high = (typed(v) for v in value)
        return stored is not None and low <= (float(stored) if numeric else stored) <= high
    wanted = typed(value)
    if op not in COMPARE:
        raise Rejected
    return stored is not None and _compare(float(stored) if numeric else stored, op, wanted)


def _same_answer(answer: Any, wanted: Any) -> bool:
    """An answer is the wanted value, or (multiple choice) holds it; numbers as numbers."""
    if isinstance(answer, list):
        return any(_same_answer(item, wanted) for item in answer)
    if _is_number(answer) and _is_number(wanted):
        return answer == wanted
    return type(answer) is type(wanted) and answer == wanted


def _survey(shop: Shop, person: Person, rest: str, op: str, value: Any) -> bool:
    survey, _, key = rest.partition(":")
    number = _digits(survey)
    if number is None or len(survey) > 18 or not key:
        raise Rejected
    _storable(key)
    answers = person.answers.get((number, key), [])
    if op in ("answered", "not_answered"):
        return bool(answers) == (op == "answered")
    if op in ("eq", "ne"):
        wanted = _text(value) if isinstance(value, str) else _number(value)  # no objects
        chosen = any(_same_answer(answer, wanted) for answer in answers)
        return chosen == (op == "eq")
    if op not in ("lt", "lte", "gt", "gte"):
        raise Rejected
    number = _number(value)
    return any(_is_number(a) and _compare(a, op, number) for a in answers)


def _topic(shop: Shop, person: Person, op: str, value: Any) -> bool:
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Rejected
    topic = shop.topic(_storable(str(value)))
    if topic is None or op not in ("subscribed", "unsubscribed"):
        raise Rejected
    return (topic in person.opted_out) == (op == "unsubscribed")


def _received(shop: Shop, person: Person, op: str, value: Any) -> bool:
    if op == "any":
        return bool(person.received)
    if op == "eq":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**62:
            raise Rejected
        return any(campaign == value for campaign, _at in person.received)
    if op == "within_days":
        since = NOW - timedelta(days=_days(value))
        return any(at >= since for _campaign, at in person.received)
    raise Rejected


FILTERS = {
    "tag": _tag,
    "follow_status": _follow_status,
    "language": _language,
    "marketing_consent": _consent,
    **{name: _column_days(column) for name, column in DAYS_FIELDS.items()},
    "last_message_days": _last_message,
    "messages_in_days": _messages_in_days,
    "topic": _topic,
    "received_campaign": _received,
    "not_received_campaign": lambda *args: not _received(*args),
}
PREFIXED_FILTERS = {"attribute": _attribute, "survey": _survey}


def _meets(shop: Shop, person: Person, condition: dict) -> bool:
    name, op, value = condition["field"], condition.get("op"), condition.get("value")
    if not isinstance(op, str):
        raise Rejected
    if name in FILTERS:
        return FILTERS[name](shop, person, op, value)
    prefix, _, rest = name.partition(":")
    if prefix in PREFIXED_FILTERS and rest:
        return PREFIXED_FILTERS[prefix](shop, person, rest, op, value)
    raise Rejected


def _holds(shop: Shop, person: Person, tree: dict) -> bool:
    ((kind, items),) = tree.items()
    results = [  # a list, not a generator: every condition is checked, so invalid ones raise
        _holds(shop, person, item) if set(item) & {"all", "any"} else _meets(shop, person, item)
        for item in items
    ]
    return all(results) if kind == "all" else any(results)


def expected_ids(shop: Shop, tree: dict) -> set[int]:
    """The customers the tree means, by brute force; Rejected when it is invalid."""
    return {person.id for person in shop.people if _holds(shop, person, tree)}


def check_tree(session, shop: Shop, tree: dict) -> None:
    """The database matches exactly whom the brute-force filter matches, listed and counted."""
    try:
        expected = expected_ids(shop, tree)
    except Rejected:
        with pytest.raises(SegmentError):
            count_matching(session, tree, NOW)
        return
    got = {customer.id for customer in matching_customers(session, tree, NOW, limit=1000)}
    assert got == expected, _explain(shop, tree, expected, got)
    assert count_matching(session, tree, NOW) == len(expected)


def _explain(shop: Shop, tree: dict, expected: set[int], got: set[int]) -> str:
    wrong = expected ^ got
    lines = [
        f"tree: {json.dumps(tree, ensure_ascii=False)}",
        f"expected {sorted(expected)}, got {sorted(got)}",
    ]
    read = {_FACTS.get(name.partition(":")[0], name) for name in _fields_of(tree)}
    for person in shop.people:
        if person.id in wrong:
            facts = {
                name: person.moments[name] if name in person.moments else getattr(person, name)
                for name in read
            }
            lines.append(f"  customer {person.id}: {facts}")
    return "\n".join(lines)


_FACTS = {  # the Person facts each field reads, for failure messages
    "tag": "tags",
    "marketing_consent": "consent",
    **DAYS_FIELDS,
    "last_message_days": "messages",
    "messages_in_days": "messages",
    "attribute": "attributes",
    "topic": "opted_out",
    "received_campaign": "received",
    "not_received_campaign": "received",
    "survey": "answers",
}


def _fields_of(tree: dict) -> list[str]:
    ((_kind, items),) = tree.items()
    return [
        name
        for item in items
        for name in (_fields_of(item) if set(item) & {"all", "any"} else [item["field"]])
    ]


# Conditions ---------------------------------------------------------------------------------


def _condition(name: str, op: str, values=None):
    values = st.none() if values is None else values
    return values.map(lambda value: {"field": name, "op": op, "value": value})


def _pair(values):
    return st.lists(values, min_size=2, max_size=2)


DAYS = st.integers(0, 150) | st.sampled_from([0, 36500])
# Mostly the stored numbers (0, 3, 12, 12.5, 1000, -5, 0.00001), as ints and as floats.
NUMBERS = st.sampled_from(
    [-5, 0, 3, 12, 12.5, 1000, 0.00001, -5.0, 3.0, 12.0, 1000.0, 2.5, 999.5, 10**15, -1e15]
) | st.integers(-20, 1100)
TEXTS = st.sampled_from(
    [*ATTRIBUTES["memo"][3], "lun", "LUN", "un", "%", "_", "\\", "'", "", "ランチ", 12, 2.5]
)
DATES = st.sampled_from(["1990-01-31", "1995-01-01", "2000-02-29", "2024-12-01", "1985", "2100"])
ATTRIBUTE_VALUES = {
    "choice": st.sampled_from([*ATTRIBUTES["rank"][2], "ブロンズ", "ゴールド "]),
    "number": NUMBERS,
    "text": TEXTS,
    "date": DATES,
}


def _days_conditions(name: str):
    return st.one_of(
        _condition(name, "lt", DAYS),
        _condition(name, "gt", DAYS),
        _condition(name, "between", _pair(DAYS)),
    )


def _attribute_conditions(key: str):
    label, kind, _choices, _values = ATTRIBUTES[key]
    values = ATTRIBUTE_VALUES[kind]
    one = st.one_of(
        *[_condition("", op, values) for op in ("eq", "ne", "lt", "lte", "gt", "gte")],
        _condition("", "between", _pair(values)),
        _condition("", "contains", TEXTS),
        _condition("", "in", st.lists(values, min_size=1, max_size=3)),
        _condition("", "is_set"),
        _condition("", "not_set"),
    )
    return st.builds(
        lambda name, condition: {**condition, "field": f"attribute:{name}"},
        st.sampled_from([key, label]),
        one,
    )


def _survey_conditions(shop: Shop):
    survey_values = st.sampled_from(
        ["lunch", "dinner", "ランチ", DROP, *ANSWER_TEXTS, "4", 0, 1, 2, 4, 5, 10, 12, 2.5, 4.0]
    )
    missing = max(shop.surveys) + 1000
    keyed = [(survey, key) for survey, keys in shop.surveys.items() for key in [*keys, "nope"]]
    numeric = [
        (s, k)
        for s, keys in shop.surveys.items()
        for k, t in keys.items()
        if t in NUMERIC_QUESTIONS
    ]
    any_key = st.sampled_from([*keyed, (missing, "scene")])
    return st.one_of(
        st.tuples(any_key, st.sampled_from(["answered", "not_answered"]), st.none()),
        st.tuples(any_key, st.sampled_from(["eq", "ne"]), survey_values),
        st.tuples(st.sampled_from(numeric), st.sampled_from(["lt", "lte", "gt", "gte"]), NUMBERS),
    ).map(lambda t: {"field": f"survey:{t[0][0]}:{t[0][1]}", "op": t[1], "value": t[2]})


def field_conditions(shop: Shop) -> dict[str, st.SearchStrategy]:
    """Valid conditions of each field (and each attribute kind) with values that hit the shop."""
    topics = [*shop.topics.values(), *shop.topics, *map(str, shop.topics)]
    campaigns = [*shop.campaigns, max(shop.campaigns) + 1000]
    received = st.one_of(
        _condition("", "any", st.none() | st.just("ignored")),
        _condition("", "eq", st.sampled_from(campaigns)),
        _condition("", "within_days", DAYS),
    )
    return {
        "tag": st.one_of(
            _condition("tag", op, st.sampled_from([*TAGS, "ラン", "V_P", "Vip", 1, 1.0]))
            for op in ("has", "not_has")
        ),
        "follow_status": st.one_of(
            _condition("follow_status", op, st.sampled_from(FOLLOW_STATES)) for op in ("eq", "ne")
        ),
        "language": st.one_of(
            _condition("language", op, st.sampled_from(["ja", "en", "zh-TW", "JA", "th", 1]))
            for op in ("eq", "ne")
        ),
        "marketing_consent": _condition("marketing_consent", "eq", st.booleans()),
        **{name: _days_conditions(name) for name in [*DAYS_FIELDS, "last_message_days"]},
        "messages_in_days": st.builds(
            lambda op, days, count: {
                "field": "messages_in_days",
                "op": op,
                "value": {"days": days, "count": count},
            },
            st.sampled_from(list(COMPARE)),
            DAYS,
            st.integers(0, 6),
        ),
        **{f"attribute:{key}": _attribute_conditions(key) for key in ATTRIBUTES},
        "topic": st.one_of(
            _condition("topic", op, st.sampled_from(topics))
            for op in ("subscribed", "unsubscribed")
        ),
        "received_campaign": received.map(lambda c: {**c, "field": "received_campaign"}),
        "not_received_campaign": received.map(lambda c: {**c, "field": "not_received_campaign"}),
        "survey": _survey_conditions(shop),
    }


FIELD_NAMES = [
    "tag", "follow_status", "language", "marketing_consent", *DAYS_FIELDS, "last_message_days",
    "messages_in_days", *(f"attribute:{key}" for key in ATTRIBUTES), "topic",
    "received_campaign", "not_received_campaign", "survey",
]  # fmt: skip


def trees(conditions):
    """`all`/`any` groups of conditions with groups one level deep."""
    kinds = st.sampled_from(["all", "any"])
    group = st.builds(
        lambda kind, items: {kind: items}, kinds, st.lists(conditions, min_size=1, max_size=3)
    )
    return st.builds(
        lambda kind, items: {kind: items},
        kinds,
        st.lists(conditions | group, min_size=1, max_size=4),
    )


# The tests ----------------------------------------------------------------------------------

PROPERTIES = settings(
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # the message names the tree and the customers
    suppress_health_check=list(HealthCheck),  # one shop per example, drawn in the test
)


@pytest.fixture
def catalogued(database_url):
    """A session in a transaction holding the catalogue, at a frozen NOW; rolled back. Nothing
    is ever committed, so there are no tables to empty afterwards (the `db` fixture's cost)."""
    database = Database(database_url)
    with time_machine.travel(NOW, tick=False), database.session() as session:
        session.begin()
        try:
            assert session.scalar(select(func.count()).select_from(Customer)) == 0
            yield session, build_catalogue(session)
        finally:
            session.rollback()
    database.dispose()


@contextmanager
def shop_of(session, catalogue: Catalogue, specs: list[dict]) -> Iterator[Shop]:
    """A shop of these customers inside a savepoint, rolled back after the example."""
    savepoint = session.begin_nested()
    try:
        yield add_people(session, catalogue, specs)
    finally:
        savepoint.rollback()


@pytest.mark.parametrize("name", FIELD_NAMES)
@settings(PROPERTIES, max_examples=4)
@given(data=st.data())
def test_each_field_and_operator_matches_a_brute_force_filter(catalogued, name, data):
    session, catalogue = catalogued
    with shop_of(session, catalogue, data.draw(PEOPLE, label="people")) as shop:
        conditions = field_conditions(shop)[name]
        for condition in data.draw(st.lists(conditions, min_size=12, max_size=12)):
            check_tree(session, shop, {"all": [condition]})


@settings(PROPERTIES, max_examples=15)
@given(data=st.data())
def test_random_trees_match_a_brute_force_filter(catalogued, data):
    session, catalogue = catalogued
    with shop_of(session, catalogue, data.draw(PEOPLE, label="people")) as shop:
        every_condition = st.one_of(*field_conditions(shop).values())
        for tree in data.draw(st.lists(trees(every_condition), min_size=20, max_size=20)):
            check_tree(session, shop, tree)


# SQL injection --------------------------------------------------------------------------------

NASTY = [DROP, "' OR '1'='1", "' OR 1=1 --", '" OR ""="', "Robert'); DROP TABLE customers;--",
         "1; DELETE FROM customers", "ランチ' OR 1=1 --", "*/ OR 1=1 /*", "%", "_", "\\", "\\%",
         "%' --", "%s", "%(value)s", "?", ":name", "$1", "x" * 600, "a\x00b",
         TOPICS[2], ATTRIBUTES["nasty"][0]]  # fmt: skip
NASTY_VALUES = st.sampled_from(NASTY) | st.sampled_from([None, True, ["a"], {"$ne": 1}, -1, 1.5])


def _injections(shop: Shop):
    """Conditions with injection attempts in values, field names, attribute names, ops."""
    survey = min(shop.surveys)
    in_values = st.sampled_from(
        [("tag", "has"), ("tag", "not_has"), ("language", "eq"), ("language", "ne"),
         ("follow_status", "eq"), ("attribute:memo", "eq"), ("attribute:メモ", "ne"),
         ("attribute:memo", "contains"), ("attribute:memo", "lt"), ("attribute:rank", "eq"),
         ("attribute:visits", "ne"), ("attribute:birthday", "gte"), ("topic", "subscribed"),
         ("topic", "unsubscribed"), ("received_campaign", "eq"),
         ("followed_days", "lt"), ("marketing_consent", "eq")]
    )  # fmt: skip
    lists = st.sampled_from(["attribute:memo", "attribute:visits"]).flatmap(
        lambda name: st.sampled_from(["in", "between"]).flatmap(
            lambda op: _condition(name, op, st.lists(NASTY_VALUES, min_size=1, max_size=2))
        )
    )
    names = st.sampled_from(
        [*(f"attribute:{text}" for text in NASTY), *(f"survey:{survey}:{text}" for text in NASTY),
         *(f"survey:{text}:scene" for text in NASTY), *NASTY, "attribute:", "survey::"]
    )  # fmt: skip
    return st.one_of(
        st.tuples(in_values, NASTY_VALUES).map(
            lambda t: {"field": t[0][0], "op": t[0][1], "value": t[1]}
        ),
        lists,
        st.tuples(  # texts only: numbers are another story (the edge cases below)
            st.sampled_from([f"survey:{survey}:memo", f"survey:{survey}:scene"]),
            st.sampled_from(["eq", "ne"]),
            st.sampled_from(NASTY),
        ).map(lambda t: {"field": t[0], "op": t[1], "value": t[2]}),
        st.tuples(names, st.sampled_from(["is_set", "answered", "eq", "has"]), NASTY_VALUES).map(
            lambda t: {"field": t[0], "op": t[1], "value": t[2]}
        ),
        st.tuples(st.sampled_from(["tag", "attribute:memo", "topic"]), st.sampled_from(NASTY)).map(
            lambda t: {"field": t[0], "op": t[1], "value": "ランチ"}
        ),
    )


@settings(PROPERTIES, max_examples=4)
@given(data=st.data())
def test_injection_attempts_are_refused_or_taken_literally(catalogued, data):
    session, catalogue = catalogued
    with shop_of(session, catalogue, data.draw(PEOPLE, label="people")) as shop:
        nasty = _injections(shop)
        for condition in data.draw(st.lists(nasty, min_size=40, max_size=40), label="nasty"):
            check_tree(session, shop, {"any": [condition]})
        tables = set(inspect(session.connection()).get_table_names())
        assert {"customers", "tags", "topics", "customer_attributes", "flow_answers"} <= tables
        assert session.scalar(select(func.count()).select_from(Customer)) == len(shop.people)


# Edge cases the properties found --------------------------------------------------------------


def person(**facts) -> dict:
    """One customer's spec for a hand-made shop: nothing known but what is given."""
    nothing = {
        "tags": set(),
        "follow_status": "following",
        "language": None,
        "consent": True,
        "moments": dict.fromkeys(DAYS_FIELDS.values()),
        "interactions": [],
        "attributes": {},
        "topics": {},
        "receipts": {},
        "runs": [],
    }
    return {**nothing, **facts}


VISITS = [person(attributes={"visits": "3"}), person(attributes={"visits": "0.00001"}), person()]
MEMO = [person(attributes={"memo": "LUNCH"}), person(attributes={"memo": "lunch"})]
ANSWERED = [  # "{0}" is the first survey's id
    person(runs=[(0, {"rating": 4, "nps": 10, "memo": "ランチ最高", "scene": ["ランチ"]})]),
    person(runs=[(0, {"memo": "1人"}), (1, {"people": 12})]),
    person(),
]


@pytest.mark.parametrize(
    "people, condition",
    [
        # Number attributes: eq, lt… compare numbers, but ne and in compare the stored text.
        pytest.param(VISITS, ("attribute:visits", "ne", 3.0), id="number-ne-whole-float"),
        pytest.param(VISITS, ("attribute:visits", "ne", 0.00001), id="number-ne-small-float"),
        pytest.param(VISITS, ("attribute:visits", "in", [3.0]), id="number-in-whole-float"),
        pytest.param(VISITS, ("attribute:visits", "in", [0.00001]), id="number-in-small-float"),
        # SQLite's LIKE ignores ASCII case, PostgreSQL's does not.
        pytest.param(MEMO, ("attribute:memo", "contains", "lunch"), id="contains-case"),
        # Survey eq/ne with a number is a substring match on the answer's JSON text.
        pytest.param(ANSWERED, ("survey:{0}:nps", "eq", 1), id="survey-eq-1-matches-10"),
        pytest.param(ANSWERED, ("survey:{1}:people", "eq", 2), id="survey-eq-2-matches-12"),
        pytest.param(ANSWERED, ("survey:{0}:memo", "eq", 1), id="survey-eq-1-matches-text"),
        pytest.param(ANSWERED, ("survey:{0}:memo", "eq", 0), id="survey-eq-0-matches-escape"),
        pytest.param(ANSWERED, ("survey:{0}:nps", "ne", 1), id="survey-ne-1"),
        # … and a whole float is written 4.0, which no stored 4 is.
        pytest.param(ANSWERED, ("survey:{0}:rating", "eq", 4.0), id="survey-eq-whole-float"),
        # SQLite stores JSON with \uXXXX escapes, so Japanese answers are never equal.
        pytest.param(ANSWERED, ("survey:{0}:memo", "eq", "ランチ最高"), id="survey-eq-japanese"),
        pytest.param(ANSWERED, ("survey:{0}:scene", "eq", "ランチ"), id="survey-eq-japanese-list"),
        # A number comparison on a text answer: PostgreSQL fails the cast, SQLite reads 0.
        pytest.param(ANSWERED, ("survey:{0}:scene", "lt", 1), id="survey-lt-on-text"),
        # str.isdigit() takes "²", which int() refuses: ValueError, not SegmentError.
        pytest.param(ANSWERED, ("topic", "subscribed", "²"), id="topic-superscript-digit"),
        pytest.param(ANSWERED, ("survey:²:memo", "answered", None), id="survey-superscript-id"),
        # A lone surrogate (JSON "\ud800") cannot be sent to either database.
        pytest.param(MEMO, ("tag", "has", "\ud800"), id="tag-surrogate"),
        pytest.param(MEMO, ("attribute:\ud800", "is_set", None), id="attribute-name-surrogate"),
    ],
)
def test_edge_cases_match_the_brute_force_filter(catalogued, people, condition):
    session, catalogue = catalogued
    name, op, value = condition
    with shop_of(session, catalogue, people) as shop:
        field_name = name.format(*shop.surveys)
        check_tree(session, shop, {"all": [{"field": field_name, "op": op, "value": value}]})
