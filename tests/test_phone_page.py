"""The sandbox phone page in a real headless Chromium: a person can chat with the bot."""

import os
import threading

import pytest
import requests

from tests.browser import BROWSER_MARKS, chromium_page
from tests.conftest import TEST_TOKEN, wait_until

pytestmark = BROWSER_MARKS


@pytest.fixture
def page():
    with chromium_page() as tab:
        yield tab


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


@pytest.fixture
def loyalty_app(settings, line):
    """The app on a real port with a worker, serving QR images at its own address (the phone
    page loads them from there, as LINE loads them from PUBLIC_BASE_URL)."""
    from werkzeug.serving import make_server

    from app import create_app
    from worker import Worker

    application = create_app(settings)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    services = application.extensions["line_crm"]
    services.settings = settings.with_changes(public_base_url=url)
    line.webhook_url = f"{url}/line/webhook"
    worker = Worker(services)
    worker.start()
    yield application
    server.shutdown()
    thread.join(5)
    worker.stop()
    services.line.close()
    services.db.dispose()


def _images_loaded(locator) -> bool:
    """Every image under the locator has arrived from the app (the QR endpoints)."""
    return locator.locator("img").evaluate_all(
        "imgs => imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)"
    )


def test_the_stamp_card_coupon_and_member_card_on_the_phone_page(
    page, loyalty_app, line, db, tmp_path
):
    from zoneinfo import ZoneInfo

    from sqlalchemy import select

    from crm.bot_texts import set_text
    from crm.clock import utcnow
    from crm.loyalty.counter import make_token, token_url
    from crm.loyalty.coupons import CouponInput, create_coupon, issue_coupon
    from crm.loyalty.programs import default_program
    from crm.loyalty.stamps import grant_stamps
    from crm.loyalty.welcome import set_welcome_coupon
    from crm.models import Customer

    services = loyalty_app.extensions["line_crm"]
    with db.transaction() as session:
        set_text(session, "shop_name", "カフェ ミモザ")
        program = default_program(session)
        program.per_day_limit = None
        program.expiry_kind, program.expiry_days = "from_last", 365
        welcome = create_coupon(
            session,
            CouponInput(
                title="ランチ10%OFF",
                description="平日11時〜14時のランチメニューに使えます。",
                discount_type="percent",
                discount_value=10,
                valid_days=30,
            ),
        )
        set_welcome_coupon(session, welcome.id)
        program_id = program.id
    page.set_viewport_size({"width": 420, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept("カフェの常連"))
    page.goto(f"{line.url}/")
    page.click("#new-user")
    page.wait_for_function("document.querySelector('#user-select').options.length === 1")
    page.click("#follow")
    page.wait_for_selector("text=ランチ10%OFF", timeout=15_000)
    [user] = line.state.users.values()
    with db.transaction() as session:
        customer = session.scalars(
            select(Customer).where(Customer.line_user_id == user.user_id)
        ).one()
        program = default_program(session)
        grant_stamps(session, customer, program, 6, utcnow(), ZoneInfo("Asia/Tokyo"), via="staff")
        drink = create_coupon(
            session,
            CouponInput(
                title="ケーキセット200円引き",
                discount_type="amount",
                discount_value=200,
                valid_days=14,
            ),
        )
        issue_coupon(session, drink, customer, utcnow(), source="staff")

    # The customer scans the counter QR with LINE's camera: the chat opens with the text typed.
    token, _ = make_token(services.settings.secret_key, program_id, 1, utcnow())
    assert not page.is_visible("#scan-form")
    page.click("#scan")
    page.fill("#scan-url", token_url(services.settings.line_basic_id, token))
    page.click("#scan-open")
    assert page.input_value("#text").startswith("スタンプをください STAMP-")
    page.press("#text", "Enter")
    card = page.locator(".msg.bot.flex", has_text="スタンプを1個押しました！")
    card.wait_for(timeout=15_000)
    assert card.locator("text=★").count() == 7
    assert "あと3個で ドリンク1杯無料" in card.inner_text()
    card.scroll_into_view_if_needed()
    card.screenshot(path=str(os.environ.get("SCREENSHOT_DIR", tmp_path)) + "/stamp-card-phone.png")

    page.fill("#text", "クーポン")
    page.press("#text", "Enter")
    listing = page.locator(".msg.bot.flex.wide").last
    listing.wait_for(timeout=15_000)
    assert "ケーキセット200円引き" in listing.inner_text()
    assert "200円引き" in listing.inner_text()
    assert listing.locator("img").count() == 2  # each coupon's QR
    wait_until(lambda: _images_loaded(listing))
    lunch = listing.locator(".bubble", has_text="ランチ10%OFF")
    lunch.scroll_into_view_if_needed()
    lunch.screenshot(path=str(os.environ.get("SCREENSHOT_DIR", tmp_path)) + "/coupon-phone.png")

    page.fill("#text", "会員証")
    page.press("#text", "Enter")
    member = page.locator(".msg.bot.flex", has_text="会員番号")
    member.wait_for(timeout=15_000)
    wait_until(lambda: _images_loaded(member))
    page.screenshot(path=str(os.environ.get("SCREENSHOT_DIR", tmp_path)) + "/member-phone.png")

    page.click("#scan")
    page.fill("#scan-url", "https://example.com/")
    page.click("#scan-open")
    assert "LINE のトークを開く URL ではありません" in page.inner_text("#scan-note")
