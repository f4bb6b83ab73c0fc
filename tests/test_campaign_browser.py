"""A campaign in a real headless Chromium: write it, read the preview, approve it, and watch the
page count the deliveries without a reload; the customer's timeline shows the message."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.campaign_sending import CampaignSender
from crm.models import BLOCKED, FOLLOWING, Customer
from crm.politeness import Politeness, save_politeness
from crm.tags import find_or_create_tag, tag_customer
from crm.topics import create_topic, find_topic
from scheduler.jobs import campaign_tick
from tests import sandbox_admin as sb
from tests.browser import BROWSER_MARKS
from tests.conftest import wait_until
from tests.test_inbox_browser import _app_url, _sign_in, browser, page  # noqa: F401

pytestmark = BROWSER_MARKS


@pytest.fixture
def friends(db, line):
    with db.transaction() as session:
        if find_topic(session, "ランチ情報") is None:
            create_topic(session, "ランチ情報")
        lunch = find_or_create_tag(session, "ランチ")
        ids = []
        for name, status in (("花子", FOLLOWING), ("太郎", FOLLOWING), ("次郎", BLOCKED)):
            customer = Customer(
                line_user_id=sb.create_user(line, name), display_name=name, follow_status=status
            )
            session.add(customer)
            session.flush()
            tag_customer(session, customer.id, lunch.id)
            ids.append(customer.id)
        save_politeness(session, Politeness(quiet_enabled=False))
    return ids


def test_an_admin_writes_previews_approves_and_watches_a_campaign(
    page,  # noqa: F811
    live_app,
    line,
    db,
    make_staff,
    friends,
    tmp_path,
):
    services = live_app.extensions["line_crm"]
    staff = make_staff()
    url = _app_url(line)
    _sign_in(page, url, staff.email)
    page.wait_for_selector(".topbar")
    page.click("nav >> text=配信")
    page.click("text=新しい配信")
    page.fill("input[name=name]", "金曜ランチのお知らせ")
    page.select_option("select[name=topic]", "ランチ情報")
    page.fill("textarea[name=m0_text]", "{name}さん、金曜はランチ唐揚げ定食が500円です！")
    page.click("button.primary")
    page.wait_for_selector("text=配信を下書き保存しました")
    preview = page.inner_text(".preview-counts")
    assert "3" in preview and "ブロック" in preview
    assert page.inner_text(".phone-preview .bubble") == (
        "店長さん、金曜はランチ唐揚げ定食が500円です！"
    )
    assert "200" in page.inner_text(".quota")
    page.screenshot(
        path=str(os.environ.get("SCREENSHOT_DIR", tmp_path)) + "/campaign-preview.png",
        full_page=True,
    )
    page.click("text=承認して予約")
    page.wait_for_selector("text=配信を承認しました")
    campaign_tick(services)  # the scheduler's tick: the run and its recipients
    page.reload()
    page.wait_for_selector("#campaign-progress[hx-trigger]")  # sending: the page polls
    with ThreadPoolExecutor(2) as pool:
        CampaignSender(services.db, services.line, pool).send_round()
    campaign_tick(services)
    wait_until(lambda: "送信済み" in page.inner_text("#campaign-progress .status"), timeout=10)
    assert page.inner_text("#campaign-progress .count-sent") == "2"
    page.screenshot(
        path=str(os.environ.get("SCREENSHOT_DIR", tmp_path)) + "/campaign-sent.png",
        full_page=True,
    )
    page.goto(f"{url}/inbox/customers/{friends[0]}")
    page.click("text=トークを開く")  # the chat's timeline shows the campaign message
    page.wait_for_selector("text=花子さん、金曜はランチ唐揚げ定食が500円です！")
    with db.read_session() as session:
        hanako = session.get(Customer, friends[0]).line_user_id
    assert sb.delivered(line, hanako)[-1]["message"]["text"].startswith("花子さん")
    assert page.errors == [] and page.dialogs == []
