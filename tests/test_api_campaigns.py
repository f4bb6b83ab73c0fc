"""/api/v1/campaigns, /api/v1/topics and customers' topics and consent: the contract
integrations rely on, through to the sandbox."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from bot.campaign_sending import CampaignSender
from crm.clock import utcnow
from crm.models import FOLLOWING, ConsentChange, Customer
from crm.politeness import Politeness
from crm.tags import find_or_create_tag, tag_customer
from crm.topics import create_topic, find_topic
from tests import sandbox_admin as sb
from tests.test_campaigns import tick

NOON_TOKYO = datetime.now(UTC).replace(hour=3, minute=0, second=0, microsecond=0)
TEXT = [{"type": "text", "text": "ランチ始めました"}]
COUNT_KEYS = {"recipients", "sent", "failed", "pending", "held_back", "deferred", "cancelled"}
HELD_KEYS = {"blocked", "no_consent", "topic", "frequency_cap", "holdout"}


@pytest.fixture
def friends(db, line):
    """Three friends who are sandbox users; 花子 and 太郎 have the tag ランチ."""
    ids = {}
    with db.transaction() as session:
        lunch = find_or_create_tag(session, "ランチ")
        for name in ("花子", "太郎", "次郎"):
            customer = Customer(
                line_user_id=sb.create_user(line, name),
                display_name=name,
                follow_status=FOLLOWING,
                followed_at=utcnow() - timedelta(days=60),
            )
            session.add(customer)
            session.flush()
            ids[name] = customer.id
            if name != "次郎":
                tag_customer(session, customer.id, lunch.id)
    return ids


def _send(services):
    with ThreadPoolExecutor(2) as pool:
        sender = CampaignSender(services.db, services.line, pool, multicast_per_second=1000)
        for _ in range(20):
            if not sender.send_round():
                break


def test_create_to_a_segment_send_and_read_the_counts(api, db, services, friends, line):
    lunch = {"all": [{"field": "tag", "op": "has", "value": "ランチ"}]}
    segment = api("POST", "/segments", {"name": "ランチ客", "conditions": lunch}).get_json()
    with time_machine.travel(NOON_TOKYO, tick=True):
        created = api(
            "POST",
            "/campaigns",
            {"name": "ランチ告知", "segment_id": segment["data"]["id"], "messages": TEXT},
        )
        assert created.status_code == 201, created.get_json()
        body = created.get_json()
        assert isinstance(body["id"], int)
        assert body["status"] == "scheduled" and body["created_via"] == "api"
        assert set(body["counts"]) == COUNT_KEYS and set(body["counts"]["held_back"]) == HELD_KEYS
        tick(db, Politeness(quiet_enabled=False))
        _send(services)
        tick(db, Politeness(quiet_enabled=False))
    shown = api("GET", f"/campaigns/{body['id']}")
    assert shown.status_code == 200
    campaign = shown.get_json()
    assert campaign["status"] == "sent"
    assert campaign["counts"]["recipients"] == 2 and campaign["counts"]["sent"] == 2
    assert campaign["counts"]["pending"] == 0 and campaign["counts"]["deferred"] == 0
    with db.read_session() as session:
        jiro = session.get(Customer, friends["次郎"]).line_user_id
    assert sb.delivered(line, jiro) == []
    assert api("GET", "/campaigns").get_json()["data"][0]["id"] == body["id"]
    assert api("GET", "/campaigns/424242").status_code == 404


def test_conditions_send_at_topic_holdout_and_recurrence_are_kept(api, friends):
    send_at = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    created = api(
        "POST",
        "/campaigns",
        {
            "name": "毎週金曜",
            "conditions": {"all": [{"field": "tag", "op": "not_has", "value": "ランチ"}]},
            "messages": [{"type": "text", "text": "{name}さん、週末のお知らせです"}],
            "send_at": send_at.isoformat(),
            "recurrence": "30 10 * * fri",
            "topic": "ランチ情報",
            "holdout_percent": 10,
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["topic"] == "ランチ情報" and body["holdout_percent"] == 10
    assert body["recurrence"] == "30 10 * * fri" and body["personalised"] is True
    next_run = datetime.fromisoformat(body["next_run_at"])
    assert next_run >= send_at
    assert next_run.astimezone(_tokyo()).strftime("%a %H:%M") == "Fri 10:30"
    preview = api("GET", f"/campaigns/{body['id']}/preview").get_json()
    assert preview["method"] == "push" and set(preview["held_back"]) == HELD_KEYS
    assert preview["would_send"] + preview["deferred"] + sum(preview["held_back"].values()) == 1


def _tokyo():
    return ZoneInfo("Asia/Tokyo")


@pytest.fixture(autouse=True)
def topics(db):
    """The default topics, as a new shop has them."""
    with db.transaction() as session:
        for name in ("ランチ情報", "ディナー情報", "イベント", "クーポン"):
            if find_topic(session, name) is None:
                create_topic(session, name)


@pytest.mark.parametrize(
    ("change", "parameter"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"type": "text", "text": "あ" * 5001}]}, "messages[0].text"),
        ({"messages": [{"type": "flex", "altText": "x", "contents": {}}]}, "messages[0]"),
        ({"messages": [{"type": "image", "originalContentUrl": "http://x"}]}, None),
        ({"send_at": "2020-01-01T10:00:00+09:00"}, "send_at"),
        ({"send_at": "2030-01-01T10:00:00"}, "send_at"),
        ({"topic": "存在しないトピック"}, "topic"),
        ({"recurrence": "every friday"}, "recurrence"),
        ({"holdout_percent": 80}, "holdout_percent"),
        ({"segment_id": 424242}, "segment_id"),
        ({"conditions": {"all": [{"field": "tag", "op": "is", "value": "x"}]}}, None),
        ({"name": ""}, "name"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_invalid_campaigns_get_422_naming_the_field(api, change, parameter):
    response = api("POST", "/campaigns", {"name": "x", "messages": TEXT, **change})
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["error"] == "invalid_parameter"
    if parameter is not None:
        assert body["parameter"] == parameter
    else:
        assert body["parameter"].startswith(("messages[0]", "conditions"))


def test_cancel_stops_a_scheduled_campaign_and_a_second_cancel_is_409(api, db, friends):
    later = (utcnow() + timedelta(hours=3)).isoformat()
    body = api("POST", "/campaigns", {"name": "x", "messages": TEXT, "send_at": later}).get_json()
    cancelled = api("POST", f"/campaigns/{body['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    again = api("POST", f"/campaigns/{body['id']}/cancel")
    assert again.status_code == 409 and again.get_json()["error"] == "conflict"
    assert api("POST", "/campaigns/424242/cancel").status_code == 404
    with time_machine.travel(utcnow() + timedelta(hours=4), tick=True):
        assert tick(db, Politeness(quiet_enabled=False)) == []


def test_pause_and_resume(api, friends):
    later = (utcnow() + timedelta(hours=3)).isoformat()
    body = api("POST", "/campaigns", {"name": "x", "messages": TEXT, "send_at": later}).get_json()
    assert api("POST", f"/campaigns/{body['id']}/pause").get_json()["status"] == "paused"
    assert api("POST", f"/campaigns/{body['id']}/pause").status_code == 409
    resumed = api("POST", f"/campaigns/{body['id']}/resume").get_json()
    assert resumed["status"] == "scheduled" and resumed["next_run_at"] == body["next_run_at"]


def test_topics_and_consent_are_set_with_their_history(api, db, friends):
    hanako = friends["花子"]
    topics = api("GET", "/topics").get_json()["data"]
    assert [t["name"] for t in topics][:2] == ["ランチ情報", "ディナー情報"]
    response = api("PUT", f"/customers/{hanako}/topics/ランチ情報", {"subscribed": False})
    assert response.status_code == 200
    assert response.get_json() == {"topic": "ランチ情報", "subscribed": False}
    by_id = api("PUT", f"/customers/{hanako}/topics/{topics[1]['id']}", {"subscribed": False})
    assert by_id.get_json() == {"topic": "ディナー情報", "subscribed": False}
    consent = api("PUT", f"/customers/{hanako}/consent", {"marketing": False})
    assert consent.status_code == 200
    shown = consent.get_json()
    assert shown["marketing"] is False
    assert {t["topic"]: t["subscribed"] for t in shown["topics"]} == {
        "ランチ情報": False,
        "ディナー情報": False,
        "イベント": True,
        "クーポン": True,
    }
    assert api("GET", f"/customers/{hanako}/consent").get_json() == shown
    assert api("PUT", f"/customers/{hanako}/topics/nope", {"subscribed": True}).status_code == 404
    assert api("PUT", "/customers/424242/consent", {"marketing": True}).status_code == 404
    assert api("PUT", f"/customers/{hanako}/consent", {"marketing": "no"}).status_code == 422
    with db.read_session() as session:
        history = session.scalars(select(ConsentChange).order_by(ConsentChange.id)).all()
    assert [(h.subject, h.value, h.channel) for h in history] == [
        ("topic", False, "api"),
        ("topic", False, "api"),
        ("marketing", False, "api"),
    ]
    # The same answer again changes nothing and writes no history.
    api("PUT", f"/customers/{hanako}/consent", {"marketing": False})
    with db.read_session() as session:
        assert len(session.scalars(select(ConsentChange)).all()) == 3


def test_a_topic_opt_out_through_the_api_holds_the_campaign_back(api, db, services, friends):
    api("PUT", f"/customers/{friends['花子']}/topics/ランチ情報", {"subscribed": False})
    with time_machine.travel(NOON_TOKYO, tick=True):
        body = api(
            "POST", "/campaigns", {"name": "x", "messages": TEXT, "topic": "ランチ情報"}
        ).get_json()
        tick(db, Politeness(quiet_enabled=False))
        _send(services)
    counts = api("GET", f"/campaigns/{body['id']}").get_json()["counts"]
    assert counts["held_back"]["topic"] == 1 and counts["sent"] == 2


def test_the_openapi_document_describes_the_campaign_endpoints(api, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/campaigns",
        "/campaigns/{campaign_id}",
        "/campaigns/{campaign_id}/cancel",
        "/campaigns/{campaign_id}/preview",
        "/customers/{customer_id}/topics/{topic}",
        "/customers/{customer_id}/consent",
        "/topics",
    ):
        assert any(p.endswith(path) for p in paths), path
