"""Segments: each field and operator against a small shop, groups, the errors naming the bad
part, and the API."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.attributes import define_attribute, set_customer_value
from crm.clock import utcnow
from crm.flows import answer_step, start_run
from crm.interactions import record_inbound
from crm.models import AttributeDefinition, Customer
from crm.segments import SegmentError, count_matching, matching_customers
from crm.surveys import create_survey
from crm.tags import find_or_create_tag, tag_customer
from tests import line_payloads as lp


@pytest.fixture
def shop(db):
    """Four customers: 花子 (ランチ, gold, followed 40 days ago, wrote 3 times this week,
    answered the survey), 太郎 (ディナー, 5 days, blocked), 次郎 (no tags, no consent,
    English), 三郎 (ランチ, never wrote)."""
    now = utcnow()
    with db.transaction() as session:
        define_attribute(session, "rank", "会員ランク", "choice", ["ゴールド", "シルバー"])
        define_attribute(session, "visits", "来店回数", "number", [])
        survey = create_survey(
            session,
            "来店",
            [
                {
                    "key": "scene",
                    "text": "シーンは？",
                    "type": "multiple_choice",
                    "choices": [
                        {"label": "ランチ", "value": "lunch"},
                        {"label": "夜", "value": "dinner"},
                    ],
                },
                {"key": "rating", "text": "満足度", "type": "rating"},
            ],
        )
        people = {}
        for name, days, status, consent, language in [
            ("花子", 40, "following", True, "ja"),
            ("太郎", 5, "blocked", True, "ja"),
            ("次郎", 200, "following", False, "en"),
            ("三郎", 10, "following", True, None),
        ]:
            customer = Customer(
                line_user_id=lp.new_user_id(),
                display_name=name,
                follow_status=status,
                marketing_consent=consent,
                language=language,
                followed_at=now - timedelta(days=days),
                first_contact_at=now - timedelta(days=days),
                last_contact_at=now - timedelta(days=days // 2),
            )
            session.add(customer)
            session.flush()
            people[name] = customer
        for name, tag in [("花子", "ランチ"), ("太郎", "ディナー"), ("三郎", "ランチ")]:
            tag_customer(session, people[name].id, find_or_create_tag(session, tag).id)
        rank = session.scalars(
            select(AttributeDefinition).where(AttributeDefinition.key == "rank")
        ).one()
        visits = session.scalars(
            select(AttributeDefinition).where(AttributeDefinition.key == "visits")
        ).one()
        set_customer_value(session, people["花子"].id, rank, "ゴールド")
        set_customer_value(session, people["太郎"].id, rank, "シルバー")
        set_customer_value(session, people["花子"].id, visits, "12")
        set_customer_value(session, people["次郎"].id, visits, "3")
        for days in (1, 2, 3):
            record_inbound(
                session,
                people["花子"],
                kind="text",
                occurred_at=now - timedelta(days=days),
                text="hi",
            )
        record_inbound(
            session, people["次郎"], kind="text", occurred_at=now - timedelta(days=60), text="old"
        )
        prompt = start_run(session, people["花子"], survey, now, "api")
        prompt, _ = answer_step(session, prompt.run, ["lunch", "dinner"], now)
        answer_step(session, prompt.run, 4, now)
        return {"survey": survey.id, **{name: c.id for name, c in people.items()}}


def _names(db, tree) -> list[str]:
    with db.read_session() as session:
        return sorted(c.display_name for c in matching_customers(session, tree, utcnow()))


def _one(field, op, value=None) -> dict:
    return {"all": [{"field": field, "op": op, "value": value}]}


@pytest.mark.parametrize(
    "field, op, value, expected",
    [
        ("tag", "has", "ランチ", ["三郎", "花子"]),
        ("tag", "not_has", "ランチ", ["太郎", "次郎"]),
        ("follow_status", "eq", "blocked", ["太郎"]),
        ("follow_status", "ne", "blocked", ["三郎", "次郎", "花子"]),
        ("language", "eq", "en", ["次郎"]),
        ("language", "ne", "ja", ["三郎", "次郎"]),
        ("marketing_consent", "eq", False, ["次郎"]),
        ("followed_days", "gt", 30, ["次郎", "花子"]),
        ("followed_days", "lt", 30, ["三郎", "太郎"]),
        ("followed_days", "between", [7, 50], ["三郎", "花子"]),
        ("last_message_days", "lt", 7, ["花子"]),
        ("last_contact_days", "gt", 50, ["次郎"]),
        ("messages_in_days", "gte", {"days": 7, "count": 3}, ["花子"]),
        ("messages_in_days", "eq", {"days": 7, "count": 0}, ["三郎", "太郎", "次郎"]),
        ("attribute:会員ランク", "eq", "ゴールド", ["花子"]),
        ("attribute:rank", "ne", "ゴールド", ["三郎", "太郎", "次郎"]),
        ("attribute:rank", "in", ["ゴールド", "シルバー"], ["太郎", "花子"]),
        ("attribute:rank", "is_set", None, ["太郎", "花子"]),
        ("attribute:rank", "not_set", None, ["三郎", "次郎"]),
        ("attribute:rank", "contains", "ゴール", ["花子"]),
        ("attribute:visits", "gte", 10, ["花子"]),
        ("attribute:visits", "lt", 10, ["次郎"]),  # numbers compare as numbers, not as text
        ("attribute:visits", "between", [2, 5], ["次郎"]),
    ],
)
def test_each_field_and_operator(db, shop, field, op, value, expected):
    assert _names(db, _one(field, op, value)) == expected


def test_survey_answers_are_fields(db, shop):
    survey = shop["survey"]
    assert _names(db, _one(f"survey:{survey}:scene", "eq", "lunch")) == ["花子"]  # in a list
    assert _names(db, _one(f"survey:{survey}:rating", "gte", 4)) == ["花子"]
    assert _names(db, _one(f"survey:{survey}:rating", "lt", 4)) == []
    assert _names(db, _one(f"survey:{survey}:rating", "not_answered")) == ["三郎", "太郎", "次郎"]


def test_all_any_and_one_level_of_nesting(db, shop):
    tree = {
        "all": [
            {"field": "follow_status", "op": "eq", "value": "following"},
            {"any": [
                {"field": "tag", "op": "has", "value": "ランチ"},
                {"field": "language", "op": "eq", "value": "en"},
            ]},
        ]
    }  # fmt: skip
    assert _names(db, tree) == ["三郎", "次郎", "花子"]
    with db.read_session() as session:
        assert count_matching(session, tree, utcnow()) == 3


@pytest.mark.parametrize(
    "tree, where",
    [
        ({"some": []}, "conditions"),
        ({"all": []}, "conditions.all"),
        ({"all": [{"field": "shoe_size", "op": "eq", "value": 1}]}, "conditions.all[0].field"),
        ({"all": [{"field": "tag", "op": "gte", "value": "x"}]}, "conditions.all[0].op"),
        ({"all": [{"field": "tag", "value": "x"}]}, "conditions.all[0].op"),
        (
            {"any": [{"field": "followed_days", "op": "gt", "value": "long"}]},
            "conditions.any[0].value",
        ),
        ({"all": [{"field": "attribute:nope", "op": "eq", "value": 1}]}, "conditions.all[0].field"),
        (
            {"all": [{"any": [{"all": [{"field": "tag", "op": "has", "value": "x"}]}]}]},
            "conditions.all[0].any[0]",
        ),
        (
            {"all": [{"field": "follow_status", "op": "eq", "value": "gone"}]},
            "conditions.all[0].value",
        ),
    ],
)
def test_an_invalid_tree_names_the_part_at_fault(db, shop, tree, where):
    with db.read_session() as session, pytest.raises(SegmentError) as caught:
        count_matching(session, tree, utcnow())
    assert caught.value.where == where


def test_the_api_counts_saves_and_lists(api, shop):
    lunch = _one("tag", "has", "ランチ")
    assert api("POST", "/segments/count", {"conditions": lunch}).get_json() == {"count": 2}
    bad = api("POST", "/segments/count", {"conditions": _one("tag", "is", "x")})
    assert bad.status_code == 422 and bad.get_json()["parameter"] == "conditions.all[0].op"
    created = api("POST", "/segments", {"name": "ランチ客", "conditions": lunch})
    assert created.status_code == 201
    segment = created.get_json()["data"]
    assert (segment["name"], segment["count"]) == ("ランチ客", 2)
    first = api("GET", f"/segments/{segment['id']}/customers", limit=1).get_json()
    second = api(
        "GET", f"/segments/{segment['id']}/customers", limit=1, cursor=first["next_cursor"]
    ).get_json()
    assert [c["display_name"] for c in first["data"] + second["data"]] == ["三郎", "花子"]
    assert second["next_cursor"] is None
    assert api("GET", "/segments/424242").status_code == 404
    assert api("POST", "/segments", {"name": "x", "conditions": {"all": "no"}}).status_code == 422
