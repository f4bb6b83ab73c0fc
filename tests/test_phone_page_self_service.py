"""On the sandbox's phone page, in headless Chromium, a person does what issue 11 promises: uses
the shop's rich menu (drawn and published by the project), gets FAQ answers to paraphrased
questions, hands off to staff, and changes what they hear about in 配信設定."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from bot.rich_menu import publish_menu
from crm.faq.samples import add_sample_faqs
from crm.inquiries.models import Inquiry
from crm.models import ConsentChange, Conversation
from crm.rich_menus.menus import default_menu
from tests.browser import BROWSER_MARKS, chromium_page
from tests.conftest import wait_until
from tests.fonts import NEEDS_JAPANESE_FONT

pytestmark = [*BROWSER_MARKS, NEEDS_JAPANESE_FONT]


@pytest.fixture
def page():
    with chromium_page({"width": 900, "height": 1100}) as tab:
        yield tab


@pytest.fixture
def shop(live_app, db, shop_topics):
    """The sample FAQs, the shop's topics and the default rich menu, published to the sandbox."""
    services = live_app.extensions["line_crm"]
    with db.transaction() as session:
        add_sample_faqs(session)
        menu_id = default_menu(session).id
    assert publish_menu(services.db, services.settings, menu_id).error is None
    return live_app


def _say(page, text: str) -> None:
    page.fill("#text", text)
    page.press("#text", "Enter")


def _bot_says(page, text: str) -> None:
    page.locator(".msg.bot", has_text=text).last.wait_for(timeout=15_000)


def test_rich_menu_faq_hand_off_and_preferences(page, shop, line, db, tmp_path):
    page.on("dialog", lambda dialog: dialog.accept("ランチ好き"))
    page.goto(f"{line.url}/")
    page.click("#new-user")
    page.wait_for_function("document.querySelector('#user-select').options.length === 1")
    page.click("#follow")
    page.wait_for_selector(".msg.bot.flex")
    image = page.locator("#rich-menu-image")
    wait_until(lambda: image.evaluate("i => i.complete && i.naturalWidth === 2500"))

    page.click(".rich-menu-area[aria-label='お問い合わせ']")  # the category menu
    _bot_says(page, "お問い合わせの内容を選んでください")
    page.click("#quick-replies button:has-text('営業時間・アクセス')")
    _bot_says(page, "「営業時間・アクセス」についてのよくある質問です")

    _say(page, "ちゅうしゃじょうある？")  # a paraphrase, in kana: the parking answer
    _bot_says(page, "駐車場")
    _say(page, "明日って何時まで開いてますか")
    _bot_says(page, "営業時間は")
    page.click("#quick-replies button:has-text('スタッフに聞く')")
    _bot_says(page, "担当スタッフにおつなぎします")
    with db.read_session() as session:
        [inquiry] = session.scalars(select(Inquiry)).all()
        assert (inquiry.category, inquiry.source) == ("営業時間・アクセス", "handoff")
        assert session.scalar(select(Conversation.bot_paused))

    page.click(".rich-menu-area[aria-label='配信設定']")
    card = page.locator(".msg.bot.flex", has_text="配信設定").last
    card.wait_for(timeout=15_000)
    card.locator("button", has_text="止める").first.click()
    _bot_says(page, "の配信を止めました")
    with db.read_session() as session:
        change = session.scalars(select(ConsentChange)).all()[-1]
        assert (change.channel, change.value) == ("chat", False) and change.wording
    shots = os.environ.get("SCREENSHOT_DIR") or str(tmp_path)
    page.screenshot(path=f"{shots}/self-service-phone.png", full_page=True)
