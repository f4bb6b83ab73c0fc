"""The staff inbox in a real headless Chromium against a live app and the LINE sandbox."""

import pytest

from tests import sandbox_admin as sb
from tests.browser import BROWSER_MARKS, CHROMIUM, LAUNCH_ARGS
from tests.conftest import STAFF_PASSWORD, wait_until

pytestmark = BROWSER_MARKS
EVIL_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A page that records every JavaScript dialog (an XSS would open one) and script error."""
    context = browser.new_context(locale="ja-JP", viewport={"width": 1366, "height": 900})
    tab = context.new_page()
    tab.dialogs, tab.errors = [], []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    yield tab
    context.close()


def _app_url(line) -> str:
    return line.webhook_url.removesuffix("/line/webhook")


def _sign_in(page, url, email, password=STAFF_PASSWORD):
    page.goto(f"{url}/inbox/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_setup_chat_reply_tag_and_note(page, live_app, line, tmp_path):
    url = _app_url(line)
    page.goto(f"{url}/inbox/")
    assert page.url.endswith("/inbox/setup")
    page.fill("input[name=display_name]", "店長")
    page.fill("input[name=email]", "owner@shop.example")
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.fill("input[name=password_confirm]", STAFF_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=未対応のトークはありません")

    # A tag to use later, made in the settings.
    page.click("text=設定")
    page.click("nav >> text=タグ")
    page.fill("input[name=name]", "常連")
    page.click("form >> text=追加")
    page.wait_for_selector("text=保存しました")
    page.click("text=受信箱")

    # A LINE user with a hostile display name writes; the chat appears without a reload.
    user = sb.create_user(line, EVIL_NAME)
    sb.user_event(line, user, "follow")
    sb.user_event(line, user, "events", type="text", text="予約をお願いします")
    page.wait_for_selector(".conversations >> text=予約をお願いします", timeout=20_000)
    assert page.locator(".conversations .name").first.inner_text() == EVIL_NAME

    page.click(".conversations a")
    page.wait_for_selector(".timeline >> text=予約をお願いします")
    assert page.locator("#timeline .item.in.kind-text").count() == 1

    # The clerk replies with Enter; Shift+Enter keeps a line break.
    page.fill("#reply-text", "ご連絡ありがとうございます。")
    page.press("#reply-text", "Shift+Enter")
    page.type("#reply-text", "明日18時で承りました。")
    page.press("#reply-text", "Enter")
    page.wait_for_selector(
        '#timeline .item.out:has-text("明日18時で承りました") .status-sent', timeout=15_000
    )
    assert page.input_value("#reply-text") == ""
    wanted = "ご連絡ありがとうございます。\n明日18時で承りました。"
    wait_until(lambda: wanted in [m["message"].get("text") for m in sb.delivered(line, user)])

    # Tag and internal note from the panel.
    page.select_option(".panel select[name=tag_id]", label="常連")
    page.click(".panel >> text=タグを付ける")
    page.wait_for_selector(".panel .tag-list >> text=常連")
    page.fill(".panel textarea[name=body]", "窓際の席が好み")
    page.click(".panel >> text=メモを追加")
    page.wait_for_selector(".note-list >> text=窓際の席が好み")

    # A new message arrives in the open chat while the clerk is typing: nothing typed is lost.
    page.fill("#reply-text", "書きかけの返信")
    sb.user_event(line, user, "events", type="text", text="追加の質問です")
    page.wait_for_selector("#timeline >> text=追加の質問です", timeout=15_000)
    assert page.input_value("#reply-text") == "書きかけの返信"
    page.screenshot(path=str(tmp_path / "inbox.png"), full_page=True)

    assert page.dialogs == [], "a script ran from customer-supplied text"
    assert page.locator("img[src=x]").count() == 0
    assert page.errors == []
    texts = [m["message"].get("text") for m in sb.delivered(line, user)]
    assert "窓際の席が好み" not in texts  # notes are never sent


def test_failed_sign_in_then_sign_in_and_out(page, live_app, line, make_staff):
    url = _app_url(line)
    make_staff("clerk@shop.example", "agent", "佐藤")
    _sign_in(page, url, "clerk@shop.example", "wrong password!")
    page.wait_for_selector("text=メールアドレスまたはパスワードが違います")
    _sign_in(page, url, "clerk@shop.example")
    page.wait_for_selector("header >> text=佐藤")
    page.click("text=ログアウト")
    page.wait_for_selector("text=ログアウトしました")
    page.goto(f"{url}/inbox/conversations")
    assert "/inbox/login" in page.url


def test_an_agent_cannot_reach_admin_pages(page, live_app, line, make_staff):
    url = _app_url(line)
    make_staff()
    make_staff("clerk@shop.example", "agent", "佐藤")
    _sign_in(page, url, "clerk@shop.example")
    page.wait_for_selector("header >> text=佐藤")
    assert page.locator("header nav >> text=設定").count() == 0
    for path in ("/inbox/settings/staff", "/inbox/settings/shop", "/inbox/customers/export.csv"):
        response = page.goto(f"{url}{path}")
        assert response.status == 403, path
        assert "このページは管理者だけが開けます" in page.content()


def test_english_on_request(page, live_app, line, make_staff):
    url = _app_url(line)
    make_staff()
    _sign_in(page, url, "admin@shop.example")
    page.click("text=English")
    page.wait_for_selector("header >> text=Customers")
    assert page.locator("text=Needs reply").count() >= 1


def test_stickers_read_as_words_when_lines_images_cannot_load(page, live_app, line, make_staff):
    page.context.route("https://stickershop.line-scdn.net/**", lambda route: route.abort())
    staff = make_staff()
    user = sb.create_user(line, "スタンプ好き")
    sb.user_event(line, user, "events", type="sticker", keywords=["ありがとう", "感謝"])
    sb.user_event(line, user, "events", type="sticker")
    url = _app_url(line)
    _sign_in(page, url, staff.email)
    page.wait_for_selector(".conversations a", timeout=20_000)
    page.click(".conversations a")
    page.wait_for_selector("#timeline .sticker-fallback >> nth=1", timeout=15_000)
    labels = page.locator("#timeline .sticker-fallback").all_inner_texts()
    assert labels == ["ありがとう、感謝", "スタンプ"]
    assert page.locator("#timeline img.sticker").count() == 0
    assert page.errors == []


def test_survey_results_draw_charts_in_japanese_and_english(
    page, live_app, line, db, make_staff, tmp_path
):
    import os

    from tests.test_inbox_surveys import _answered

    _answered(
        db,
        [("lunch", 10, "また来ます"), ("lunch", 9, "美味しい"), ("dinner", 4, "<b>遅い</b>")],
    )
    staff = make_staff()
    url = _app_url(line)
    _sign_in(page, url, staff.email)
    page.wait_for_selector(".topbar")
    page.goto(f"{url}/inbox/surveys")
    page.click("text=来店")
    page.wait_for_selector("text=完了率")
    drawn = page.wait_for_function(
        "() => [...document.querySelectorAll('canvas')].every((c) => Chart.getChart(c))"
    )
    assert drawn
    assert page.locator("canvas").count() == 2  # the choice and the NPS questions
    assert page.locator(".free-texts li").count() == 3
    assert "<b>遅い</b>" in page.inner_text(".free-texts")  # shown as text, not markup
    page.screenshot(
        path=str(os.environ.get("SCREENSHOT_DIR", tmp_path)) + "/survey-results.png", full_page=True
    )
    page.click("text=English")
    page.wait_for_selector("text=Completion rate")
    assert page.locator("text=NPS").count() >= 1
    assert page.errors == [] and page.dialogs == []


def test_an_admin_builds_a_survey_with_a_preview(page, live_app, line, db, make_staff, tmp_path):
    import os

    staff = make_staff()
    url = _app_url(line)
    _sign_in(page, url, staff.email)
    page.wait_for_selector(".topbar")
    page.goto(f"{url}/inbox/surveys")
    page.click("text=新しいアンケート")
    page.fill("input[name=name]", "ランチアンケート")
    page.fill("input[name=keyword]", "ランチ")
    page.fill("textarea[name=q0_text]", "今日のメニューはいかがでしたか？")
    page.select_option("select[name=q0_type]", "single_choice")
    page.fill("textarea[name=q0_choices]", "満足 #満足\nふつう\n不満 #要フォロー")
    page.click("button[value=add]")
    page.wait_for_selector("textarea[name=q1_text]")
    page.fill("textarea[name=q1_text]", "おすすめ度は？")
    page.select_option("select[name=q1_type]", "nps")
    page.click("button[value=add]")
    page.wait_for_selector(".preview-buttons >> nth=1")
    assert page.locator(".preview .bubble").all_inner_texts() == [
        "今日のメニューはいかがでしたか？",
        "おすすめ度は？",
    ]
    assert "不満" in page.inner_text(".preview-buttons >> nth=0")
    page.screenshot(
        path=str(os.environ.get("SCREENSHOT_DIR", tmp_path)) + "/survey-builder.png",
        full_page=True,
    )
    page.click("button[value=save]")
    page.wait_for_selector("text=アンケートを保存しました")
    assert page.locator("h1").inner_text() == "ランチアンケート"
    page.click("text=編集")
    page.click("text=English")
    page.wait_for_selector("text=Edit survey")
    assert page.input_value("textarea[name=q0_choices]") == "満足 #満足\nふつう\n不満 #要フォロー"
    assert page.errors == [] and page.dialogs == []


def test_an_admin_builds_a_segment_with_a_live_count(
    page, live_app, line, db, make_staff, tmp_path
):
    import os
    from datetime import timedelta

    from crm.clock import utcnow
    from crm.models import Customer
    from crm.tags import find_or_create_tag, tag_customer
    from tests import line_payloads as lp

    names = [
        "佐藤花子",
        "鈴木一郎",
        EVIL_NAME,
        "高橋美咲",
        "田中健",
        "伊藤さくら",
        "渡辺翔",
        "山本葵",
    ]
    with db.transaction() as session:
        regular = find_or_create_tag(session, "常連")
        find_or_create_tag(session, "ランチ")
        for days, name in enumerate([*names, "中村", "小林"], start=1):
            customer = Customer(
                line_user_id=lp.new_user_id(),
                display_name=name,
                follow_status="following",
                last_contact_at=utcnow() - timedelta(days=days * 3),
            )
            session.add(customer)
            session.flush()
            if name in names:
                tag_customer(session, customer.id, regular.id)
    staff = make_staff()
    url = _app_url(line)
    _sign_in(page, url, staff.email)
    page.wait_for_selector(".topbar")
    page.click("header nav >> text=セグメント")
    page.click("text=新しいセグメント")
    page.fill("input[name=name]", "最近来た常連")
    page.evaluate("window.notReloaded = true")

    def count_becomes(number: int) -> None:
        shown = f"() => document.getElementById('segment-count')?.dataset.count === '{number}'"
        page.wait_for_function(shown, timeout=10_000)

    # The first condition: customers tagged 常連 (the field's choices come from the tags).
    page.select_option("select[name=c0_field]", "tag")
    page.select_option("select[name=c0_op]", "has")
    page.select_option("select[name=c0_value]", "常連")
    count_becomes(8)

    # A second condition, added without a reload: last contact within the last N days (typed).
    page.click("button[value=add]")
    page.wait_for_selector("select[name=c1_field]")
    page.select_option("select[name=c1_field]", "last_contact_days")
    page.wait_for_selector("input[name=c1_value]")
    page.fill("input[name=c1_value]", "10")
    count_becomes(3)
    page.fill("input[name=c1_value]", "16")
    count_becomes(5)
    assert page.evaluate("window.notReloaded") is True
    samples = page.locator(".samples a").all_inner_texts()
    assert samples == ["田中健", "高橋美咲", EVIL_NAME, "鈴木一郎", "佐藤花子"]
    page.screenshot(
        path=str(os.environ.get("SCREENSHOT_DIR", tmp_path)) + "/segment-builder.png",
        full_page=True,
    )

    # With the keyboard: the rows are redrawn and the focus stays on the operator.
    page.focus("select[name=c1_op]")
    page.keyboard.press("ArrowDown")  # "more than 16 days ago"
    count_becomes(3)
    page.wait_for_function("() => document.activeElement.id === 'c1_op'")
    page.keyboard.press("ArrowUp")
    count_becomes(5)

    # A bad value is named in place; fixing it brings the count back.
    page.fill("input[name=c1_value]", "十日")
    page.wait_for_selector(".segment-preview >> text=条件 2（値）")
    page.fill("input[name=c1_value]", "16")
    page.wait_for_selector("#segment-count")

    page.click("button[value=save]")
    page.wait_for_selector("text=セグメントを保存しました")
    row = page.locator("table.segments tr", has_text="最近来た常連")
    assert row.locator("td").nth(1).inner_text() == "5"
    assert page.dialogs == [] and page.errors == []
    assert page.locator("img[src=x]").count() == 0
