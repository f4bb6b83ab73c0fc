"""Headless Chromium for the browser tests: Debian's package, launched by Playwright."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LAUNCH_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)"),
]


@contextmanager
def chromium_page(viewport: dict | None = None) -> Iterator:
    """A page in a fresh headless Chromium, in Japanese (the phone page's tests)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(
            locale="ja-JP", **({"viewport": viewport} if viewport else {})
        )
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()
