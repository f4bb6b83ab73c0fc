"""The sandbox phone page in a real headless Chromium: a person can chat with the bot."""

import os

import pytest
import requests

from tests.browser import BROWSER_MARKS, CHROMIUM, LAUNCH_ARGS
from tests.conftest import TEST_TOKEN, wait_until

pytestmark = BROWSER_MARKS


@pytest.fixture
def page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(locale="ja-JP")
        yield context.new_page()
        context.close()
        browser.close()


def test_follow_chat_and_tap_a_button(page, live_app, line, tmp_path):
    page.on("dialog", lambda dialog: dialog.accept("<img src=x onerror=alert(1)>"))
    page.goto(f"{line.url}/")
    page.click("#new-user")
    page.wait_for_function("document.querySelector('#user-select').options.length === 1")
    page.click("#follow")
    page.wait_for_selector(".msg.bot.flex")
    assert "友だち追加ありがとうございます" in page.inner_text(".msg.bot.flex")

    page.fill("#text", "こんにちは\n二行目")
    page.press("#text", "Enter")
    page.wait_for_selector("text=受け付けました")
    page.click(".flex button")  # the welcome card's postback button
    page.wait_for_selector("text=このアカウントでできること")
    page.screenshot(path=str(tmp_path / "phone.png"))

    [user] = line.state.users.values()
    assert user.display_name == "<img src=x onerror=alert(1)>"
    assert page.locator("img[src=x]").count() == 0
    texts = [m["message"].get("text", "") for m in line.state.messages_for(user.user_id)]
    assert any("このアカウントでできること" in t for t in texts)
    wait_until(lambda: len(line.state.messages_for(user.user_id)) == 3)


def test_a_sticker_from_the_shop_reads_as_a_word_when_lines_image_cannot_load(page, line):
    page.context.route("https://stickershop.line-scdn.net/**", lambda route: route.abort())
    page.on("dialog", lambda dialog: dialog.accept("スタンプ受信者"))
    page.goto(f"{line.url}/")
    page.click("#new-user")
    page.wait_for_function("document.querySelector('#user-select').options.length === 1")
    [user] = line.state.users.values()
    answer = requests.post(
        f"{line.url}/v2/bot/message/push",
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
        json={
            "to": user.user_id,
            "messages": [{"type": "sticker", "packageId": "446", "stickerId": "1988"}],
        },
        timeout=5,
    )
    assert answer.status_code == 200
    page.wait_for_selector(".msg.bot .sticker-fallback", timeout=15_000)
    assert page.inner_text(".msg.bot .sticker-fallback") == "スタンプ"
    assert page.locator(".msg.bot img.sticker-image").count() == 0


def test_a_person_takes_the_sample_survey_on_the_phone_page(page, live_app, line, db, tmp_path):
    from crm.surveys import seed_sample_survey

    with db.transaction() as session:
        seed_sample_survey(session)
    page.on("dialog", lambda dialog: dialog.accept("アンケート回答者"))
    page.goto(f"{line.url}/")
    page.click("#new-user")
    page.wait_for_function("document.querySelector('#user-select').options.length === 1")
    page.fill("#text", "アンケート")
    page.press("#text", "Enter")
    page.click("#quick-replies >> text=ランチ", timeout=15_000)
    page.wait_for_selector("text=満足度を5段階で教えてください。")
    page.click("#quick-replies >> text=4")
    page.wait_for_selector("text=このお店を友人にすすめる可能性は？（0〜10）")
    page.click("#quick-replies >> text=10")
    page.wait_for_selector("text=ご意見・ご感想をお聞かせください。")
    page.fill("#text", "また来ます！")
    page.press("#text", "Enter")
    page.wait_for_selector("text=ご回答ありがとうございました！", timeout=15_000)
    page.screenshot(path=str(os.environ.get("SCREENSHOT_DIR", tmp_path)) + "/survey-phone.png")

    from sqlalchemy import select

    from crm.flows import answers_of
    from crm.models import FlowRun

    with db.read_session() as session:
        [run] = session.scalars(select(FlowRun)).all()
        answers = answers_of(session, [run.id])[run.id]
    assert run.status == "completed"
    assert answers == {"scene": "lunch", "rating": 4, "nps": 10, "comment": "また来ます！"}
