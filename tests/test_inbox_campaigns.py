"""Campaigns in the staff inbox: write, preview (outcomes, quota, the rendered messages), test
send, approve, watch the progress, pause and cancel; topics and consent on the customer panel;
the politeness settings; admins only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.campaign_sending import CampaignSender
from crm.clock import utcnow
from crm.models import (
    BLOCKED,
    FOLLOWING,
    AuditEntry,
    Campaign,
    ConsentChange,
    Customer,
    Staff,
)
from crm.politeness import Politeness, load_politeness
from crm.tags import find_or_create_tag, tag_customer
from crm.topics import create_topic, find_topic
from tests import sandbox_admin as sb
from tests.conftest import csrf_from, sign_in
from tests.test_campaigns import tick

TOKYO = ZoneInfo("Asia/Tokyo")
FORM = {
    "name": "金曜ランチ",
    "audience": "all",
    "topic": "",
    "holdout_percent": "0",
    "when": "now",
    "m0_kind": "text",
    "m0_text": "{name}さん、今週のランチは唐揚げです",
}


@pytest.fixture
def shop(db, line):
    """Two friends (one tagged ランチ, one blocked) and the shop's topics."""
    with db.transaction() as session:
        for name in ("ランチ情報", "イベント"):
            if find_topic(session, name) is None:
                create_topic(session, name)
        lunch = find_or_create_tag(session, "ランチ")
        people = {}
        for name, status in (("花子", FOLLOWING), ("<b>太郎</b>", BLOCKED)):
            customer = Customer(
                line_user_id=sb.create_user(line, name),
                display_name=name,
                follow_status=status,
                followed_at=utcnow() - timedelta(days=40),
            )
            session.add(customer)
            session.flush()
            people[name] = customer.id
        tag_customer(session, people["花子"], lunch.id)
    return people


def _create(admin_client, **changes) -> int:
    response = admin_client.post(
        "/inbox/campaigns/new", data={**FORM, **changes, "csrf_token": admin_client.csrf}
    )
    assert response.status_code == 302, response.text
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_write_preview_approve_and_watch_it_go_out(admin_client, db, services, shop, line):
    campaign_id = _create(admin_client)
    page = admin_client.get(f"/inbox/campaigns/{campaign_id}").text
    assert "金曜ランチ" in page and "下書き" in page
    # The preview: who would get it, who is held back and why, the quota, the message.
    assert "ブロック" in page  # the blocked friend is named as held back
    assert "店長さん、今週のランチは唐揚げです" in page  # {name} filled with the viewer's name
    assert "200" in page  # the sandbox's monthly limit
    assert "プッシュ" in page  # personalised: pushed one by one
    approve = admin_client.post(
        f"/inbox/campaigns/{campaign_id}/schedule", data={"csrf_token": admin_client.csrf}
    )
    assert approve.status_code == 302
    with db.read_session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign.status == "scheduled"
        assert campaign.approved_by_id == admin_client.staff.id
        assert campaign.created_by_id == admin_client.staff.id
    tick(db, Politeness(quiet_enabled=False))
    progress = admin_client.get(f"/inbox/campaigns/{campaign_id}/progress").text
    assert 'hx-trigger="every 2s"' in progress  # polled while sending
    with ThreadPoolExecutor(2) as pool:
        CampaignSender(services.db, services.line, pool).send_round()
    tick(db, Politeness(quiet_enabled=False))
    done = admin_client.get(f"/inbox/campaigns/{campaign_id}/progress").text
    assert "every 2s" not in done
    assert 'class="count-sent">1<' in done
    with db.read_session() as session:
        hanako = session.get(Customer, shop["花子"]).line_user_id
    assert sb.delivered(line, hanako)[-1]["message"]["text"] == "花子さん、今週のランチは唐揚げです"
    listing = admin_client.get("/inbox/campaigns").text
    assert "金曜ランチ" in listing and "送信済み" in listing


def test_a_bad_campaign_is_refused_with_the_field_and_nothing_is_saved(admin_client, db, shop):
    response = admin_client.post(
        "/inbox/campaigns/new",
        data={**FORM, "m0_text": "", "csrf_token": admin_client.csrf},
    )
    assert response.status_code == 422
    assert "messages" in response.text
    past = admin_client.post(
        "/inbox/campaigns/new",
        data={
            **FORM,
            "when": "once",
            "send_at": "2020-01-01T10:00",
            "csrf_token": admin_client.csrf,
        },
    )
    assert past.status_code == 422 and "send_at" in past.text
    weekly = admin_client.post(
        "/inbox/campaigns/new",
        data={**FORM, "when": "weekly", "weekly_time": "10:30", "csrf_token": admin_client.csrf},
    )
    assert weekly.status_code == 422 and "recurrence" in weekly.text  # no weekday chosen
    with db.read_session() as session:
        assert session.scalars(select(Campaign)).all() == []


def test_weekly_in_shop_time_and_editing_a_scheduled_campaign_needs_approval_again(
    admin_client, db, shop
):
    campaign_id = _create(
        admin_client, when="weekly", weekdays="fri", weekly_time="10:30", topic="ランチ情報"
    )
    admin_client.post(
        f"/inbox/campaigns/{campaign_id}/schedule", data={"csrf_token": admin_client.csrf}
    )
    with db.read_session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert campaign.recurrence == "30 10 * * fri"
        local = campaign.next_run_at.astimezone(TOKYO)
        assert local.strftime("%a %H:%M") == "Fri 10:30"
    edit = admin_client.get(f"/inbox/campaigns/{campaign_id}/edit").text
    assert 'value="fri" checked' in edit and 'value="10:30"' in edit
    response = admin_client.post(
        f"/inbox/campaigns/{campaign_id}/edit",
        data={
            **FORM,
            "name": "金曜ランチ（改）",
            "when": "weekly",
            "weekdays": ["fri", "sat"],
            "weekly_time": "11:00",
            "csrf_token": csrf_from(edit),
        },
    )
    assert response.status_code == 302
    with db.read_session() as session:
        campaign = session.get(Campaign, campaign_id)
        assert (campaign.status, campaign.recurrence) == ("draft", "0 11 * * fri,sat")


def test_pause_resume_and_cancel_are_audited(admin_client, db, shop):
    later = (utcnow() + timedelta(days=1)).astimezone(TOKYO)
    campaign_id = _create(admin_client, when="once", send_at=later.strftime("%Y-%m-%dT%H:%M"))
    for action in ("schedule", "pause", "resume", "cancel"):
        response = admin_client.post(
            f"/inbox/campaigns/{campaign_id}/{action}", data={"csrf_token": admin_client.csrf}
        )
        assert response.status_code == 302
    with db.read_session() as session:
        assert session.get(Campaign, campaign_id).status == "cancelled"
        actions = session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.action.like("campaigns.%"))
            .order_by(AuditEntry.id)
        ).all()
    assert actions == [
        "campaigns.create",
        "campaigns.schedule",
        "campaigns.pause",
        "campaigns.resume",
        "campaigns.cancel",
    ]
    refused = admin_client.post(
        f"/inbox/campaigns/{campaign_id}/pause", data={"csrf_token": admin_client.csrf}
    )
    assert refused.status_code == 302  # told why, nothing changed
    with db.read_session() as session:
        assert session.get(Campaign, campaign_id).status == "cancelled"


def test_test_send_reaches_the_staff_members_linked_line(admin_client, db, shop, line):
    campaign_id = _create(admin_client)
    page = admin_client.get(f"/inbox/campaigns/{campaign_id}").text
    assert "マイアカウント" in page  # nobody linked yet: says where to link
    own_line = sb.create_user(line, "店長の携帯")
    with db.transaction() as session:
        session.get(Staff, admin_client.staff.id).line_user_id = own_line
    response = admin_client.post(
        f"/inbox/campaigns/{campaign_id}/test",
        data={"staff_id": admin_client.staff.id, "csrf_token": admin_client.csrf},
    )
    assert response.status_code == 302
    assert (
        sb.delivered(line, own_line)[-1]["message"]["text"] == "店長さん、今週のランチは唐揚げです"
    )
    with db.read_session() as session:
        assert session.get(Campaign, campaign_id).status == "draft"  # a test changes nothing


def test_agents_cannot_reach_campaigns(client, db, make_staff, shop):
    agent = make_staff("agent@shop.example", role="agent", name="スタッフ")
    sign_in(client, agent.email)
    assert client.get("/inbox/campaigns").status_code == 403
    assert client.get("/inbox/campaigns/new").status_code == 403
    page = client.get("/inbox/account").text
    assert (
        client.post(
            "/inbox/campaigns/new", data={**FORM, "csrf_token": csrf_from(page)}
        ).status_code
        == 403
    )


def test_forms_without_a_csrf_token_are_refused(admin_client, db, shop):
    assert admin_client.post("/inbox/campaigns/new", data=FORM).status_code == 400
    with db.read_session() as session:
        assert session.scalars(select(Campaign)).all() == []


def test_customer_names_are_escaped_in_the_preview(admin_client, db, shop):
    campaign_id = _create(admin_client)
    page = admin_client.get(f"/inbox/campaigns/{campaign_id}").text
    assert "<b>太郎</b>" not in page


def test_politeness_settings_are_saved(admin_client, db):
    response = admin_client.post(
        "/inbox/settings/campaigns",
        data={
            "cap_messages": "3",
            "cap_days": "14",
            "quiet_enabled": "1",
            "quiet_start": "22:00",
            "quiet_end": "08:30",
            "csrf_token": admin_client.csrf,
        },
    )
    assert response.status_code == 302
    with db.read_session() as session:
        rules = load_politeness(session)
    assert (rules.cap_messages, rules.cap_days, rules.quiet_start, rules.quiet_end) == (
        3,
        14,
        "22:00",
        "08:30",
    )
    bad = admin_client.post(
        "/inbox/settings/campaigns",
        data={
            "cap_messages": "3",
            "cap_days": "0",
            "quiet_start": "22:00",
            "quiet_end": "08:00",
            "csrf_token": admin_client.csrf,
        },
    )
    assert bad.status_code == 302
    with db.read_session() as session:
        assert load_politeness(session).cap_days == 14


def test_staff_set_topics_and_consent_on_the_customer_panel_with_history(admin_client, db, shop):
    hanako = shop["花子"]
    panel = admin_client.get(f"/inbox/customers/{hanako}").text
    assert "ランチ情報" in panel
    with db.read_session() as session:
        topic_id = find_topic(session, "ランチ情報").id
    response = admin_client.post(
        f"/inbox/customers/{hanako}/topics",
        data={"topic_id": topic_id, "subscribed": "0", "csrf_token": admin_client.csrf},
    )
    assert response.status_code == 302
    admin_client.post(
        f"/inbox/customers/{hanako}/consent",
        data={"marketing_consent": "0", "csrf_token": admin_client.csrf},
    )
    with db.read_session() as session:
        history = session.scalars(select(ConsentChange).order_by(ConsentChange.id)).all()
        assert [(h.subject, h.value, h.channel, h.staff_id) for h in history] == [
            ("topic", False, "staff", admin_client.staff.id),
            ("marketing", False, "staff", admin_client.staff.id),
        ]
    panel = admin_client.get(f"/inbox/customers/{hanako}").text
    assert "ランチ情報: <strong>配信停止</strong>" in panel
