"""/api/v1/customers/<id>/preferences: the contract. GET shows consent, topics by name and the
recent history; PUT changes only what is given, records channel api, and a 422 names the field."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.models import AuditEntry, ConsentChange, Customer, Topic
from crm.topics import set_topic_subscription
from tests.conftest import SHOP_TOPICS

TOPICS = SHOP_TOPICS


@pytest.fixture(autouse=True)
def topics(shop_topics) -> dict[str, int]:
    return shop_topics


@pytest.fixture
def hanako(customers) -> int:
    return customers(1, name="花子")[0]


def _path(customer_id: int) -> str:
    return f"/customers/{customer_id}/preferences"


def test_a_new_customer_receives_everything(api, hanako, topics):
    response = api("GET", _path(hanako))
    assert response.status_code == 200
    body = response.get_json()
    assert body["customer_id"] == hanako and body["marketing"] is True
    assert body["topics"] == dict.fromkeys(TOPICS, True)
    assert [(s["id"], s["name"], s["subscribed"]) for s in body["subscriptions"]] == [
        (topics[name], name, True) for name in TOPICS
    ]
    assert body["history"] == []


def test_put_changes_only_what_is_given_and_records_channel_api(api, db, hanako, topics):
    response = api("PUT", _path(hanako), {"topics": {"ランチ情報": False}})
    assert response.status_code == 200
    body = response.get_json()
    assert body["changed"] == ["ランチ情報"]
    assert body["marketing"] is True
    assert body["topics"] == {**dict.fromkeys(TOPICS, True), "ランチ情報": False}

    by_id = {"topics": {str(topics["イベント"]): False, "ランチ情報": False}, "marketing": False}
    body = api("PUT", _path(hanako), by_id).get_json()
    assert body["changed"] == ["marketing", "イベント"]  # ランチ情報 was already off
    assert body["topics"]["イベント"] is False and body["marketing"] is False

    again = api("PUT", _path(hanako), by_id).get_json()
    assert again["changed"] == []
    assert api("PUT", _path(hanako), {}).get_json()["changed"] == []

    shown = api("GET", _path(hanako)).get_json()
    assert {k: v for k, v in again.items() if k != "changed"} == shown
    assert [(h["subject"], h["topic"], h["value"], h["channel"]) for h in shown["history"]] == [
        ("topic", "イベント", False, "api"),
        ("marketing", None, False, "api"),
        ("topic", "ランチ情報", False, "api"),
    ]
    assert shown["history"][0]["occurred_at"].endswith(("Z", "+00:00"))
    with db.read_session() as session:
        assert session.get(Customer, hanako).marketing_consent is False
        assert len(session.scalars(select(ConsentChange)).all()) == 3
        audits = session.scalars(select(AuditEntry).where(AuditEntry.action == "api.preferences"))
        assert [a.detail["api_token"] for a in audits] == ["tests", "tests"]


def test_history_names_the_channel_wording_and_staff(api, db, hanako, topics, make_staff):
    staff = make_staff()
    with db.transaction() as session:
        customer = session.get(Customer, hanako)
        dinner = session.get(Topic, topics["ディナー情報"])
        now = customer.created_at
        set_topic_subscription(session, customer, dinner, False, now, "chat", "受け取らない")
        set_topic_subscription(session, customer, dinner, True, now, "staff", staff_id=staff.id)
    history = api("GET", _path(hanako)).get_json()["history"]
    assert [(h["channel"], h["wording"], h["staff_id"]) for h in history] == [
        ("staff", None, staff.id),
        ("chat", "受け取らない", None),
    ]


def test_an_inactive_topic_is_not_shown(api, db, hanako, topics):
    with db.transaction() as session:
        session.get(Topic, topics["クーポン"]).active = False
    body = api("GET", _path(hanako)).get_json()
    assert "クーポン" not in body["topics"]
    assert [s["name"] for s in body["subscriptions"]] == list(TOPICS[:3])


@pytest.mark.parametrize(
    ("payload", "parameter"),
    [
        ({"topics": {"存在しない": True}}, "topics.存在しない"),
        ({"topics": {"ランチ情報": "no"}}, "topics.ランチ情報"),
        ({"topics": {"ランチ情報": 1}}, "topics.ランチ情報"),
        ({"topics": ["ランチ情報"]}, "topics"),
        ({"marketing": "yes"}, "marketing"),
        ({"marketing": 0}, "marketing"),
        ({"marketing": True, "wording": "x"}, "wording"),
        ({"topics": {"クーポン": True}}, "topics.クーポン"),  # switched off by staff
    ],
)
def test_bad_input_is_a_422_naming_the_field_and_changes_nothing(
    api, db, hanako, topics, payload, parameter
):
    with db.transaction() as session:
        session.get(Topic, topics["クーポン"]).active = False
    payload = {**payload, "marketing": payload.get("marketing", False)}
    response = api("PUT", _path(hanako), payload)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "invalid_parameter" and body["parameter"] == parameter
    with db.read_session() as session:
        assert session.scalars(select(ConsentChange)).all() == []
        assert session.get(Customer, hanako).marketing_consent is True


def test_one_topic_by_name_and_by_id_with_two_answers_is_a_422(api, hanako, topics):
    lunch_id = str(topics["ランチ情報"])
    payload = {"topics": {"ランチ情報": True, lunch_id: False}}
    response = api("PUT", _path(hanako), payload)
    assert response.status_code == 422
    assert response.get_json()["parameter"] in ("topics.ランチ情報", f"topics.{lunch_id}")
    same = api("PUT", _path(hanako), {"topics": {"ランチ情報": False, lunch_id: False}})
    assert same.get_json()["changed"] == ["ランチ情報"]


def test_unknown_customer_no_token_and_no_body(api, client, hanako):
    assert api("GET", _path(424242)).status_code == 404
    missing = api("PUT", _path(424242), {"marketing": False})
    assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"
    assert client.get(f"/api/v1{_path(hanako)}").status_code == 401
    no_body = api("PUT", _path(hanako))
    assert no_body.status_code == 422 and no_body.get_json()["parameter"] == "body"


def test_the_openapi_document_describes_both_operations(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operations = document["paths"]["/customers/{customer_id}/preferences"]
    assert set(operations) == {"get", "put"}
    body = operations["put"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PreferencesIn"}
    schemas = document["components"]["schemas"]
    assert set(schemas["PreferencesIn"]["properties"]) == {"topics", "marketing"}
    assert {"404", "422"} <= set(operations["put"]["responses"])
