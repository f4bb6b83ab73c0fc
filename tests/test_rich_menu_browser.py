"""The rich menu editor in headless Chromium against a live app and the LINE sandbox: change a
label, save, see the server-drawn preview, publish. The screenshot goes to SCREENSHOT_DIR when set
(docs/ keeps one)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.browser import BROWSER_MARKS
from tests.conftest import wait_until
from tests.fonts import NEEDS_JAPANESE_FONT
from tests.test_inbox_browser import _app_url, _sign_in, browser  # noqa: F401

pytestmark = [*BROWSER_MARKS, NEEDS_JAPANESE_FONT]


def test_an_admin_edits_and_publishes_the_menu_in_the_browser(
    browser,  # noqa: F811
    live_app,
    line,
    make_staff,
    tmp_path,
):
    url = _app_url(line)
    make_staff()
    tab = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900}).new_page()
    errors = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    _sign_in(tab, url, "admin@shop.example")
    tab.goto(f"{url}/inbox/rich-menus")
    tab.click("text=基本メニュー")
    tab.fill("input[name=area5_label]", "よくある質問")
    tab.click("form.loyalty-form button[type=submit]")
    tab.wait_for_selector("img.rich-menu-preview")
    assert tab.input_value("input[name=area5_label]") == "よくある質問"
    tab.click("section.rich-menu-state button[type=submit]")
    tab.wait_for_selector(".status-published")
    width = "document.querySelector('img.rich-menu-preview').naturalWidth"
    assert wait_until(lambda: tab.evaluate(width)) == 2500  # the server drew the preview
    assert errors == []
    shots = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)
    tab.screenshot(path=str(shots / "rich-menu-editor.png"), full_page=True)
