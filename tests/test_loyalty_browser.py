"""The counter screen in a real headless Chromium at tablet size, in Japanese: find a customer,
give a stamp and see the card change, type a coupon code and redeem it, be refused the second
time, undo; the rotating QR; scanning a member QR with the (fake) camera; the loyalty report with
its charts. Screenshots go to SCREENSHOT_DIR when set (docs/ keeps two of them)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import segno
from sqlalchemy import select

from crm.clock import utcnow
from crm.loyalty.counter import member_number, member_qr_text
from crm.loyalty.coupons import CouponInput, create_coupon, issue_coupon, redeem
from crm.loyalty.programs import default_program
from crm.loyalty.stamps import grant_stamps
from crm.models import FOLLOWING, Customer
from tests.browser import BROWSER_MARKS, CHROMIUM, LAUNCH_ARGS
from tests.conftest import wait_until
from tests.test_inbox_browser import _app_url, _sign_in, browser  # noqa: F401

pytestmark = BROWSER_MARKS
TOKYO = ZoneInfo("Asia/Tokyo")
TABLET = {"width": 1024, "height": 768}
NAMES = ["花子", "佐藤 健", "鈴木 ゆい", "田中 蓮", "高橋 葵", "伊藤 湊", "山本 さくら"]


def _shots(tmp_path) -> Path:
    return Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)


def _open(browser, **context):  # noqa: F811
    options = {"locale": "ja-JP", "viewport": TABLET, "has_touch": True, **context}
    tab = browser.new_context(**options).new_page()
    tab.dialogs, tab.errors = [], []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    return tab


@pytest.fixture
def cafe(db, line):
    """A café's regulars: 花子 has six stamps from earlier visits and a lunch coupon; the others
    have stamps of the last two weeks (one filled a card) and coupons, some used."""
    now = utcnow()
    with db.transaction() as session:
        program = default_program(session)
        lunch = create_coupon(
            session,
            CouponInput(
                title="ランチ10%オフ", discount_type="percent", discount_value=10, valid_days=30
            ),
        )
        codes = {}
        for n, name in enumerate(NAMES):
            customer = Customer(
                line_user_id=f"U{n:032x}", display_name=name, follow_status=FOLLOWING
            )
            session.add(customer)
            session.flush()
            for day in range(6 if n == 0 else (n * 3) % 12 + 2):
                at = now - timedelta(days=13 - day, hours=n)
                grant_stamps(session, customer, program, 1, at, TOKYO, via="staff")
            issued = issue_coupon(session, lunch, customer, now - timedelta(days=n), source="staff")
            codes[n] = issued.issued.code
            if n % 3 == 1:
                redeem(session, codes[n], now - timedelta(days=n - 1), via="staff")
        hanako = session.scalar(select(Customer.id).where(Customer.display_name == NAMES[0]))
        return SimpleNamespace(hanako=hanako, number=member_number(session, hanako), code=codes[0])


def test_a_clerk_gives_a_stamp_and_redeems_a_coupon_on_the_tablet(
    browser,  # noqa: F811
    live_app,
    line,
    make_staff,
    cafe,
    tmp_path,
):
    url = _app_url(line)
    make_staff("clerk@shop.example", "agent", "佐藤")
    tab = _open(browser)
    _sign_in(tab, url, "clerk@shop.example")
    tab.wait_for_selector(".topbar")
    tab.click("header nav >> text=カウンター")
    tab.wait_for_selector("#counter-qr .qr-code svg")  # the rotating QR is there
    assert "LINEで読み取るとスタンプ" in tab.inner_text("#counter-qr")
    assert int(tab.inner_text("[data-countdown]")) in range(15, 21)

    tab.fill("#counter-q", "花子")
    tab.press("#counter-q", "Enter")
    tab.click('.counter-results a.result:has-text("花子")')
    tab.wait_for_selector("#customer-card")
    assert tab.inner_text("#customer-card .stamp-count") == "6 / 10"
    assert f"M-{cafe.number}" in tab.inner_text("#customer-card .who")

    tab.click("#customer-card .stamp-one")
    tab.wait_for_selector(".notice.ok >> text=スタンプを押しました: 7 / 10")
    assert tab.inner_text("#customer-card .stamp-count") == "7 / 10"
    assert tab.locator("#customer-card .stamp-grid li.filled").count() == 7
    tab.screenshot(path=str(_shots(tmp_path) / "counter-screen.png"))
    tab.click("#customer-card .stamp-one")  # a second visit the same day
    tab.wait_for_selector(".notice.refused >> text=本日の上限に達しています")
    assert tab.inner_text("#customer-card .stamp-count") == "7 / 10"

    typed = cafe.code.lower()
    tab.fill("#counter-q", f"{typed[:4]}-{typed[4:8]}-{typed[8:]}")
    tab.press("#counter-q", "Enter")
    tab.click("#redeem-button")
    tab.wait_for_selector(".notice.ok >> text=クーポンを使いました: ランチ10%オフ")
    assert tab.locator(".notice .undo [data-undo-left]").inner_text().startswith("4:")
    tab.fill("#counter-q", cafe.code)
    tab.press("#counter-q", "Enter")
    tab.wait_for_selector(".notice.refused >> text=このクーポンはすでに使われています")
    assert tab.locator("#redeem-button").count() == 0
    tab.click(".notice.refused .undo button")
    tab.wait_for_selector(".notice.ok >> text=利用を取り消しました")
    assert tab.locator("#customer-card .counter-coupons >> text=ランチ10%オフ").count() == 1

    tab.set_viewport_size({"width": 768, "height": 1024})  # the tablet turned upright
    box = tab.locator("#counter-qr").bounding_box()
    result = tab.locator("#counter-result").bounding_box()
    assert box["x"] + box["width"] <= 768 and result["y"] > box["y"]
    tab.screenshot(path=str(_shots(tmp_path) / "counter-screen-portrait.png"))
    assert tab.errors == [] and tab.dialogs == []


def test_the_qr_changes_after_twenty_seconds_and_the_report_draws_its_charts(
    browser,  # noqa: F811
    live_app,
    line,
    make_staff,
    cafe,
    tmp_path,
):
    url = _app_url(line)
    make_staff()
    tab = _open(browser, viewport={"width": 1280, "height": 900})
    _sign_in(tab, url, "admin@shop.example")
    tab.goto(f"{url}/inbox/counter")
    first = tab.get_attribute("#counter-qr", "hx-get")
    wait_until(lambda: tab.get_attribute("#counter-qr", "hx-get") != first, timeout=30)
    assert tab.locator("#counter-qr svg").count() == 1
    wait_until(lambda: int(tab.inner_text("[data-countdown]")) < 19, timeout=5)  # counts again

    tab.click("header nav >> text=スタンプ・クーポン")
    tab.click(".settings-nav >> text=レポート")
    tab.wait_for_selector("#chart-stamps")
    drawn = "() => typeof Chart !== 'undefined' && !!Chart.getChart('chart-stamps')"
    wait_until(lambda: tab.evaluate(drawn))
    labels = tab.evaluate("() => Chart.getChart('chart-coupons').data.labels")
    assert set(labels) == {"ランチ10%オフ", "ドリンク1杯無料"}  # one card was filled
    assert int(tab.inner_text("#total-stamps")) > 20
    tab.screenshot(path=str(_shots(tmp_path) / "loyalty-report.png"), full_page=True)
    assert tab.errors == [] and tab.dialogs == []


def _fake_camera(path: Path, text: str) -> Path:
    """A Y4M video whose frames show one QR code, for Chromium's fake camera."""
    width, height = 640, 480
    matrix = segno.make(text, error="m", micro=False).matrix  # as web/qr.py draws it
    modules, cell = len(matrix) + 8, 10
    left, top = (width - modules * cell) // 2, (height - modules * cell) // 2
    luma = bytearray([235]) * (width * height)
    for row, bits in enumerate(matrix):
        for column, dark in enumerate(bits):
            if not dark:
                continue
            for y in range(top + (row + 4) * cell, top + (row + 5) * cell):
                start = y * width + left + (column + 4) * cell
                luma[start : start + cell] = bytes([16]) * cell
    chroma = bytes([128]) * (width * height // 4)
    frame = b"FRAME\n" + bytes(luma) + chroma + chroma
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * 3)
    return path


def test_the_tablet_camera_reads_a_member_qr(live_app, line, make_staff, cafe, tmp_path):
    from playwright.sync_api import sync_playwright

    video = _fake_camera(tmp_path / "member-qr.y4m", member_qr_text(cafe.number))
    args = [
        *LAUNCH_ARGS,
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ]
    url = _app_url(line)
    make_staff("clerk@shop.example", "agent", "佐藤")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            tab = _open(chromium)
            tab.context.grant_permissions(["camera"], origin=url)
            _sign_in(tab, url, "clerk@shop.example")
            tab.wait_for_selector(".topbar")
            tab.goto(f"{url}/inbox/counter")
            tab.click("#scan-start")
            tab.wait_for_selector("#customer-card >> text=会員QRから", timeout=15_000)
            assert tab.input_value("#counter-q") == f"M-{cafe.number}"
            assert tab.locator("#scanner").is_hidden()  # the camera stops after a read
            tab.click("#customer-card .stamp-one")
            tab.wait_for_selector(".notice.ok >> text=スタンプを押しました: 7 / 10")
            assert tab.errors == [] and tab.dialogs == []
        finally:
            chromium.close()


def test_an_owner_sets_up_a_coupon_and_a_card_with_a_bonus_at_five(
    browser,  # noqa: F811
    live_app,
    line,
    db,
    make_staff,
    cafe,
    tmp_path,
):
    """The café's owner writes a bonus coupon, then a second card that gives it at five stamps
    and expires a year after the latest stamp; both land in the database as typed."""
    from crm.loyalty.models import Coupon, StampProgram

    url = _app_url(line)
    make_staff()
    tab = _open(browser, viewport={"width": 1280, "height": 900})
    _sign_in(tab, url, "admin@shop.example")
    tab.goto(f"{url}/inbox/loyalty/coupons/new")
    tab.fill("input[name=title]", "次回ドリンク100円引き")
    tab.fill("textarea[name=description]", "スタンプ5個のボーナスです。")
    tab.select_option("select[name=discount_type]", "amount")
    tab.fill("input[name=discount_value]", "100")
    tab.check("input[name=validity][value=days]")
    tab.fill("input[name=valid_days]", "60")
    tab.fill("input[name=per_customer_limit]", "5")
    tab.screenshot(path=str(_shots(tmp_path) / "coupon-editor.png"), full_page=True)
    tab.click("button[type=submit].primary")
    tab.wait_for_url(lambda address: "/new" not in address)
    with db.read_session() as session:
        coupon = session.scalar(select(Coupon).where(Coupon.title == "次回ドリンク100円引き"))
        assert (coupon.discount_type, coupon.discount_value, coupon.valid_days) == (
            "amount",
            100,
            60,
        )
        assert coupon.per_customer_limit == 5

    tab.goto(f"{url}/inbox/loyalty/programs/new")
    tab.fill("input[name=name]", "モーニングカード")
    tab.fill("input[name=stamps_needed]", "8")
    tab.select_option("select[name=expiry_kind]", "from_last")
    tab.fill("input[name=expiry_days]", "365")
    tab.fill("input[name=reward0_stamps]", "5")
    tab.select_option("select[name=reward0_coupon]", str(coupon.id))
    tab.screenshot(path=str(_shots(tmp_path) / "stamp-program-editor.png"), full_page=True)
    tab.click("button[type=submit].primary")
    tab.wait_for_url(lambda address: "/new" not in address)
    with db.read_session() as session:
        program = session.scalar(
            select(StampProgram).where(StampProgram.name == "モーニングカード")
        )
        assert (program.stamps_needed, program.expiry_kind, program.expiry_days) == (
            8,
            "from_last",
            365,
        )
        assert [(r.stamps, r.coupon_id) for r in program.rewards] == [(5, coupon.id)]
    assert tab.errors == [] and tab.dialogs == []
