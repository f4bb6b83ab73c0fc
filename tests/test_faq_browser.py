"""The FAQ editor and the inquiry report in a real headless Chromium, in Japanese: an owner
writes an FAQ, tries a customer's message against it, and opens the report to see its charts.
Screenshots go to SCREENSHOT_DIR when set (docs/ keeps two of them)."""

from __future__ import annotations

import os
import random
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.clock import utcnow
from crm.faq.models import Faq, FaqLookup
from crm.inquiries.models import INQUIRY_OPEN, INQUIRY_RESOLVED, Inquiry
from crm.inquiries.routing import DEFAULT_CATEGORIES
from crm.models import FOLLOWING, Customer
from tests.browser import BROWSER_MARKS
from tests.conftest import wait_until
from tests.test_faq_chat import seed_sample_faqs
from tests.test_inbox_browser import _app_url, _sign_in, browser  # noqa: F401

pytestmark = BROWSER_MARKS
DESKTOP = {"width": 1280, "height": 900}
UNANSWERED = [
    "傘の貸し出しはありますか",
    "誕生日ケーキの持ち込みはできますか",
    "領収書の宛名を変えてほしい",
    "貸切の見積もりがほしいです",
    "閉店後に荷物を受け取れますか",
    "<b>ギフト券</b>は使えますか",
]


def _shots(tmp_path) -> Path:
    return Path(os.environ.get("SCREENSHOT_DIR") or tmp_path)


def _open(browser):  # noqa: F811
    tab = browser.new_context(locale="ja-JP", viewport=DESKTOP).new_page()
    tab.dialogs, tab.errors = [], []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    return tab


def _customer(session, number: int) -> Customer:
    customer = Customer(
        line_user_id=f"U{number:032x}", display_name=f"客{number}", follow_status=FOLLOWING
    )
    session.add(customer)
    session.flush()
    return customer


def _questions(session, customer, faqs, now, rng) -> None:
    """Eight weeks of questions: most answered, some suggested, some handed to staff."""
    for days_ago in range(56):
        for _ in range(rng.randint(6, 16)):
            asked = now - timedelta(days=days_ago, minutes=rng.randint(0, 600))
            roll = rng.random()
            if roll < 0.6:
                faq = rng.choice(faqs)
                outcome = "resolved" if rng.random() < 0.5 else None
                row = FaqLookup(decision="answer", faq_id=faq.id, text=faq.questions[0])
                row.outcome = outcome
            elif roll < 0.8:
                row = FaqLookup(decision="suggest", text=rng.choice(faqs).questions[-1])
            else:
                row = FaqLookup(decision="handoff", text=rng.choice(UNANSWERED))
            row.customer_id, row.asked_at = customer.id, asked
            session.add(row)


def _inquiries(session, staff_ids, now, rng) -> None:
    """Inquiries over eight weeks, answered faster as the weeks went on."""
    number = 1
    for days_ago in range(56):
        for _ in range(rng.randint(1, 3)):
            opened = now - timedelta(days=days_ago, hours=rng.randint(1, 10))
            speed = 1 + days_ago / 28
            responded = opened + timedelta(minutes=rng.randint(3, 40) * speed)
            resolved = opened + timedelta(hours=rng.uniform(0.5, 8) * speed)
            done = days_ago > 1
            session.add(
                Inquiry(
                    customer_id=_customer(session, number).id,
                    source="category",
                    category=rng.choice(DEFAULT_CATEGORIES),
                    status=INQUIRY_RESOLVED if done else INQUIRY_OPEN,
                    opened_at=opened,
                    first_response_at=responded,
                    first_responder_id=rng.choice(staff_ids),
                    resolved_at=resolved if done else None,
                    resolved_by_id=rng.choice(staff_ids) if done else None,
                )
            )
            number += 1


@pytest.fixture
def restaurant(db, make_staff):
    """The sample restaurant's FAQs, eight weeks of questions and inquiries, three staff."""
    seed_sample_faqs(db)
    staff_ids = [make_staff().id]
    staff_ids.append(make_staff("sato@shop.example", "agent", "佐藤").id)
    staff_ids.append(make_staff("suzuki@shop.example", "agent", "鈴木").id)
    rng, now = random.Random(11), utcnow()
    with db.transaction() as session:
        faqs = list(session.scalars(select(Faq).order_by(Faq.id)))
        _questions(session, _customer(session, 0), faqs, now, rng)
        _inquiries(session, staff_ids, now, rng)


def test_an_owner_writes_an_faq_tries_it_and_reads_the_report(
    browser,  # noqa: F811
    live_app,
    line,
    db,
    restaurant,
    tmp_path,
):
    url = _app_url(line)
    tab = _open(browser)
    _sign_in(tab, url, "admin@shop.example")
    tab.wait_for_selector(".topbar")
    tab.click("header nav a[href$='/inbox/inquiries']")  # any language
    tab.wait_for_selector("#try-text")

    tab.click("a.button[href$='/inbox/faqs/new']")
    tab.fill("input[name=category]", "その他")
    tab.fill("textarea[name=questions]", "傘の貸し出しはありますか\n傘を借りられますか")
    tab.fill("textarea[name=answer]", "はい、レジ横の貸し傘をお使いください。")
    tab.fill("textarea[name=quick_replies]", "営業時間")
    tab.click("button[type=submit].primary")
    tab.wait_for_selector("text=傘の貸し出しはありますか")
    with db.read_session() as session:
        faq = session.scalar(select(Faq).order_by(Faq.id.desc()).limit(1))
        assert faq.questions == ["傘の貸し出しはありますか", "傘を借りられますか"]
        assert (faq.category, faq.quick_replies) == ("その他", ["営業時間"])

    tab.fill("#try-text", "傘ある？")
    tab.click(".faq-try button[type=submit]")
    tab.wait_for_selector("#try-result")
    assert tab.locator("#try-result .decision-answer").count() == 1
    assert tab.inner_text("#try-result .try-matches li:first-child a") == "傘の貸し出しはありますか"
    tab.screenshot(path=str(_shots(tmp_path) / "faq-editor.png"))

    tab.click(".settings-nav a[href$='/inquiries/report']")
    tab.wait_for_selector("#chart-questions")
    for chart in ("chart-questions", "chart-first-response", "chart-resolution"):
        wait_until(lambda c=chart: tab.evaluate(f"() => !!window.Chart?.getChart('{c}')"))
    days = tab.evaluate("() => Chart.getChart('chart-questions').data.labels.length")
    assert days == 56
    assert int(tab.inner_text("#total-asked")) > 300
    assert tab.locator(".unanswered-table >> text=<b>ギフト券</b>は使えますか").count() == 1
    tab.screenshot(path=str(_shots(tmp_path) / "inquiry-report.png"), full_page=True)
    assert tab.errors == [] and tab.dialogs == []
