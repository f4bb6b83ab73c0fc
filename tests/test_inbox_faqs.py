"""The FAQ editor, the try-it box, FAQ settings, inquiry routing and the questions-and-inquiries
report, through the inbox: admins only where they edit, CSRF on every form, figures exact on
known rows, customers' words escaped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm.faq.entries import FaqInput, create_faq, load_faq_settings
from crm.faq.models import Faq, FaqLookup
from crm.inquiries.models import INQUIRY_OPEN, INQUIRY_RESOLVED, Inquiry
from crm.inquiries.reports import Durations, inquiry_report
from crm.inquiries.routing import ROUTE_FIXED, ROUTE_ROUND_ROBIN, load_inquiry_settings
from crm.inquiries.routing import pick_assignee as routed_to
from crm.models import FOLLOWING, Customer
from tests.conftest import csrf_from, sign_in
from tests.test_faq_chat import seed_sample_faqs

TOKYO = ZoneInfo("Asia/Tokyo")
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)


@pytest.fixture
def agent_client(app, make_staff):
    client = app.test_client()
    make_staff("agent@shop.example", "agent", "佐藤")
    assert sign_in(client, "agent@shop.example").status_code == 302
    client.csrf = csrf_from(client.get("/inbox/account").text)
    return client


def _faqs(db) -> list[Faq]:
    with db.read_session() as session:
        return list(session.scalars(select(Faq).order_by(Faq.id)))


def _form(client, **fields) -> dict:
    base = {"csrf_token": client.csrf, "category": "", "questions": "", "answer": "", "active": "1"}
    return {**base, **fields}


# The editor --------------------------------------------------------------------------------


def test_an_admin_creates_edits_and_deletes_an_faq(admin_client, db):
    page = admin_client.get("/inbox/faqs/new")
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    answer = admin_client.post(
        "/inbox/faqs/new",
        data=_form(
            admin_client,
            category="アクセス",
            questions="駐車場はありますか\n\n車で行けますか\n駐車場はありますか",
            answer="店の裏に3台分あります。",
            quick_replies="地図\n",
        ),
    )
    assert answer.status_code == 302
    (faq,) = _faqs(db)
    assert faq.questions == ["駐車場はありますか", "車で行けますか"]
    assert (faq.category, faq.quick_replies, faq.active) == ("アクセス", ["地図"], True)

    listing = admin_client.get("/inbox/faqs")
    assert "駐車場はありますか" in listing.text and "アクセス" in listing.text
    form = admin_client.get(f"/inbox/faqs/{faq.id}")
    assert "車で行けますか" in form.text and '<option value="アクセス">' in form.text

    edited = _form(admin_client, category="アクセス", questions="駐車場は？", answer="ありません")
    del edited["active"]
    assert admin_client.post(f"/inbox/faqs/{faq.id}", data=edited).status_code == 302
    (faq,) = _faqs(db)
    assert (faq.questions, faq.answer, faq.active) == (["駐車場は？"], "ありません", False)

    gone = admin_client.post(f"/inbox/faqs/{faq.id}/delete", data={"csrf_token": admin_client.csrf})
    assert gone.status_code == 302 and _faqs(db) == []
    assert admin_client.get(f"/inbox/faqs/{faq.id}").status_code == 404


def test_the_list_filters_by_category_and_counts_recent_answers(admin_client, db):
    now = datetime.now(UTC)
    with db.transaction() as session:
        parking = create_faq(session, FaqInput(["駐車場はありますか"], "あります", "アクセス"))
        create_faq(session, FaqInput(["予約できますか"], "できます", "予約"))
        customer = _customer(session, "U1")
        for days in (1, 2, 40):  # the 40-day-old answer is outside the last 30 days
            _lookup(session, customer, now - timedelta(days=days), "駐車場", "answer", parking.id)
    page = admin_client.get("/inbox/faqs?category=アクセス")
    assert "駐車場はありますか" in page.text and "予約できますか" not in page.text
    assert '<td class="number">2</td>' in page.text


def test_forms_without_the_csrf_token_are_refused(admin_client, db):
    with db.transaction() as session:
        faq_id = create_faq(session, FaqInput(["質問"], "答え")).id
    fields = {"questions": "駐車場", "answer": "あります"}
    assert admin_client.post("/inbox/faqs/new", data=fields).status_code == 400
    assert admin_client.post(f"/inbox/faqs/{faq_id}/delete").status_code == 400
    assert (
        admin_client.post("/inbox/inquiries/routing", data={"categories": "A"}).status_code == 400
    )
    assert [f.id for f in _faqs(db)] == [faq_id]


ADMIN_PAGES = [
    ("get", "/inbox/faqs"),
    ("get", "/inbox/faqs/new"),
    ("post", "/inbox/faqs/new"),
    ("post", "/inbox/faqs/try"),
    ("get", "/inbox/faqs/settings"),
    ("post", "/inbox/faqs/settings"),
    ("get", "/inbox/inquiries/routing"),
    ("post", "/inbox/inquiries/routing"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_PAGES)
def test_agents_are_refused_the_admin_pages(agent_client, method, path):
    data = {"csrf_token": agent_client.csrf, "questions": "x", "answer": "y", "text": "x"}
    answer = agent_client.open(path, method=method.upper(), data=data)
    assert answer.status_code == 403


def test_agents_may_read_the_report_but_not_edit_faqs(agent_client, db):
    with db.transaction() as session:
        faq_id = create_faq(session, FaqInput(["質問"], "答え")).id
    assert agent_client.get("/inbox/inquiries").headers["Location"].endswith("/report")
    page = agent_client.get("/inbox/inquiries/report")
    assert page.status_code == 200 and "chart-questions" in page.text
    assert "/inbox/faqs/new" not in page.text  # no "Create FAQ from this" for agents
    refused = agent_client.post(
        f"/inbox/faqs/{faq_id}/delete", data={"csrf_token": agent_client.csrf}
    )
    assert refused.status_code == 403 and len(_faqs(db)) == 1


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"questions": "\n \n", "answer": "答え"},
            "questions",
            "質問の例を1つ以上入力してください",
        ),
        ({"questions": "質問", "answer": "  "}, "answer", "回答を入力してください"),
        ({"questions": "質問", "answer": "答え", "category": "カ" * 51}, "category", "50文字以内"),
        ({"questions": "質問\n" + "長" * 201, "answer": "答え"}, "questions", "2件目: 200文字以内"),
        (
            {"questions": "質問", "answer": "答え", "quick_replies": "\n".join("abcdefghijkl")},
            "quick_replies",
            "11個まで",
        ),
    ],
)
def test_a_refused_faq_shows_the_error_next_to_its_field(admin_client, db, fields, field, message):
    answer = admin_client.post("/inbox/faqs/new", data=_form(admin_client, **fields))
    assert answer.status_code == 422
    error = answer.text.split(f'id="{field}-error"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert f'aria-describedby="{field}-error"' in answer.text
    assert fields["questions"].strip().split("\n")[0] in answer.text  # what was typed stays
    assert _faqs(db) == []


def test_a_flex_answer_is_read_only_and_kept(admin_client, db):
    bubble = {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": []}}
    with db.transaction() as session:
        data = FaqInput(["メニューは？"], "メニュー", answer_kind="flex", answer_flex=bubble)
        faq_id = create_faq(session, data).id
    page = admin_client.get(f"/inbox/faqs/{faq_id}")
    assert "Flexカード（APIで編集）" in page.text
    fields = _form(admin_client, questions="メニューは？\nメニュー見たい", answer="今月のメニュー")
    assert admin_client.post(f"/inbox/faqs/{faq_id}", data=fields).status_code == 302
    (faq,) = _faqs(db)
    assert (faq.answer_kind, faq.answer_flex, faq.answer) == ("flex", bubble, "今月のメニュー")


def test_create_from_a_question_prefills_the_form(admin_client):
    page = admin_client.get("/inbox/faqs/new", query_string={"question": "<b>ペット</b>OK?"})
    assert "&lt;b&gt;ペット&lt;/b&gt;OK?</textarea>" in page.text


# Try it and settings -----------------------------------------------------------------------


def test_the_try_it_box_shows_what_the_bot_would_do(admin_client, db):
    seed_sample_faqs(db)
    with db.read_session() as session:
        sample = session.scalars(select(Faq).order_by(Faq.id)).first()
    tried = admin_client.post(
        "/inbox/faqs/try", data={"csrf_token": admin_client.csrf, "text": sample.questions[0]}
    )
    assert tried.status_code == 200
    result = tried.text.split('id="try-result"', 1)[1]
    assert 'class="decision decision-answer"' in result
    assert f'href="/inbox/faqs/{sample.id}">{sample.questions[0]}</a>' in result
    nothing = admin_client.post(
        "/inbox/faqs/try", data={"csrf_token": admin_client.csrf, "text": "量子コンピュータ"}
    )
    assert 'class="decision decision-handoff"' in nothing.text


def test_faq_settings_are_saved_and_refused_when_out_of_order(admin_client, db):
    fields = {"csrf_token": admin_client.csrf, "answer": "0.5", "suggest": "0.25", "margin": "0.1"}
    assert admin_client.post("/inbox/faqs/settings", data=fields).status_code == 302
    with db.read_session() as session:
        saved = load_faq_settings(session)
    assert saved.enabled is False  # the box was not ticked
    assert (saved.thresholds.answer, saved.thresholds.suggest) == (0.5, 0.25)
    refused = admin_client.post(
        "/inbox/faqs/settings", data={**fields, "enabled": "1", "suggest": "0.9"}
    )
    assert refused.status_code == 422 and 'id="suggest-error"' in refused.text
    assert 'value="0.9"' in refused.text
    with db.read_session() as session:
        assert load_faq_settings(session).thresholds.suggest == 0.25


# Routing -----------------------------------------------------------------------------------


def test_routing_settings_are_saved_and_route_new_inquiries(admin_client, db, make_staff):
    aoi = make_staff("aoi@shop.example", "agent", "葵").id
    ren = make_staff("ren@shop.example", "agent", "蓮").id
    page = admin_client.get("/inbox/inquiries/routing")
    assert "予約\n営業時間・アクセス\n商品\nその他</textarea>" in page.text
    form = {
        "csrf_token": admin_client.csrf,
        "categories": "予約\n商品\nその他\n",
        "route": ["c0", "c1", "c2"],
        "name-c0": "予約",
        "mode-c0": ROUTE_FIXED,
        "fixed-c0": str(aoi),
        "name-c1": "商品",
        "mode-c1": ROUTE_ROUND_ROBIN,
        "turns-c1": [str(aoi), str(ren)],
        "name-c2": "その他",
        "mode-c2": "none",
        "mode-fallback": ROUTE_FIXED,
        "fixed-fallback": str(ren),
    }
    assert admin_client.post("/inbox/inquiries/routing", data=form).status_code == 302
    with db.transaction() as session:
        settings = load_inquiry_settings(session)
        assert settings.categories == ("予約", "商品", "その他")
        assert set(settings.routes) == {"予約", "商品"}
        assert routed_to(session, settings, "予約") == aoi
        assert routed_to(session, settings, "その他") == ren  # follows the fallback
        assert routed_to(session, settings, None) == ren
        assert routed_to(session, settings, "商品") == aoi
        customer = _customer(session, "U1")
        session.add(_inquiry(customer, datetime.now(UTC), category="商品", assignee_id=aoi))
        session.flush()
        assert routed_to(session, settings, "商品") == ren  # the next in turn
    shown = admin_client.get("/inbox/inquiries/routing").text
    assert f'<option value="{aoi}" selected>葵</option>' in shown


def test_a_fixed_route_without_a_staff_member_is_refused(admin_client, db):
    form = {
        "csrf_token": admin_client.csrf,
        "categories": "予約",
        "route": "c0",
        "name-c0": "予約",
        "mode-c0": ROUTE_FIXED,
        "fixed-c0": "",
    }
    answer = admin_client.post("/inbox/inquiries/routing", data=form)
    assert answer.status_code == 422 and "routes.予約.staff_ids" in answer.text
    with db.read_session() as session:
        assert load_inquiry_settings(session).routes == {}


# The report --------------------------------------------------------------------------------


def _customer(session, user_id: str) -> Customer:
    customer = Customer(line_user_id=user_id, display_name=user_id, follow_status=FOLLOWING)
    session.add(customer)
    session.flush()
    return customer


def _lookup(session, customer, asked_at, text, decision, faq_id=None, outcome=None):
    session.add(
        FaqLookup(
            customer_id=customer.id,
            asked_at=asked_at,
            text=text,
            decision=decision,
            faq_id=faq_id,
            outcome=outcome,
        )
    )


def _inquiry(customer, opened_at, **columns) -> Inquiry:
    status = INQUIRY_RESOLVED if columns.get("resolved_at") else INQUIRY_OPEN
    return Inquiry(
        customer_id=customer.id, source="unmatched", opened_at=opened_at, status=status, **columns
    )


def _tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


SCRIPT = "<script>alert(1)</script>ペット連れOK?"


@pytest.fixture
def known_rows(db, make_staff):
    """Questions on 6–9 May 2024 (Tokyo) and six inquiries over two weeks, with known times."""
    aoi = make_staff("aoi@shop.example", "agent", "葵").id
    ren = make_staff("ren@shop.example", "agent", "蓮").id
    with db.transaction() as session:
        someone = _customer(session, "U0")
        _lookup(session, someone, _tokyo(5, 23, 59), "前日の質問", "handoff")  # outside
        _lookup(session, someone, _tokyo(6, 10), "営業時間は", "answer", outcome="resolved")
        _lookup(session, someone, _tokyo(6, 11), "定休日は", "answer")
        _lookup(session, someone, _tokyo(6, 23, 30), "予約", "suggest")
        _lookup(session, someone, _tokyo(7, 0, 30), "駐車場ありますか？", "handoff")
        _lookup(session, someone, _tokyo(8, 9), "駐車場 ありますか", "handoff")
        _lookup(session, someone, _tokyo(9, 9), SCRIPT, "handoff")
        rows = [  # day, category, first response (min, by), resolution (h, by)
            (6, "予約", 5, aoi, 1, aoi),
            (7, "予約", 10, ren, 2, aoi),
            (8, "商品", 20, aoi, None, None),
            (13, "商品", 30, ren, 3, ren),
            (14, None, 60, aoi, 4, None),  # 解決しました: no staff resolution
            (15, None, None, None, None, None),
        ]
        for n, (day, category, responded, responder, resolved, resolver) in enumerate(rows):
            opened = _tokyo(day, 10)
            session.add(
                _inquiry(
                    _customer(session, f"U{n + 1}"),
                    opened,
                    category=category,
                    first_response_at=opened + responded * MINUTE if responded else None,
                    first_responder_id=responder,
                    resolved_at=opened + resolved * HOUR if resolved else None,
                    resolved_by_id=resolver,
                )
            )
    return {"aoi": aoi, "ren": ren}


def _d(minutes: float) -> timedelta:
    return minutes * MINUTE


def test_the_report_counts_questions_and_times_exactly(db, known_rows):
    with db.read_session() as session:
        report = inquiry_report(session, date(2024, 5, 6), date(2024, 5, 19), TOKYO)
    assert len(report.days) == 14
    first_days = [
        (d.day.day, d.answered, d.suggested, d.handed_off, d.deflected) for d in report.days[:4]
    ]
    assert first_days == [(6, 2, 1, 0, 1), (7, 0, 0, 1, 0), (8, 0, 0, 1, 0), (9, 0, 0, 1, 0)]
    assert (report.asked, report.answered, report.suggested) == (6, 2, 1)
    assert (report.handed_off, report.deflected, report.rate(report.handed_off)) == (3, 1, 0.5)

    parking, script = report.unanswered
    assert (parking.text, parking.count) == ("駐車場 ありますか", 2)
    assert (parking.first_asked, parking.last_asked) == (_tokyo(7, 0, 30), _tokyo(8, 9))
    assert (script.text, script.count) == (SCRIPT, 1)

    assert report.opened_by_category == [("予約", 2), ("商品", 2), (None, 2)]
    assert report.overall.first_response == Durations(5, _d(20), _d(60))
    assert report.overall.resolution == Durations(3, 2 * HOUR, 3 * HOUR)

    weeks = {w.label: w for w in report.weeks}
    assert set(weeks) == {"2024-05-06", "2024-05-13"}
    assert weeks["2024-05-06"].first_response == Durations(3, _d(10), _d(20))
    assert weeks["2024-05-06"].resolution == Durations(2, 1.5 * HOUR, 2 * HOUR)
    assert weeks["2024-05-13"].first_response == Durations(2, _d(45), _d(60))
    assert weeks["2024-05-13"].resolution == Durations(1, 3 * HOUR, 3 * HOUR)

    categories = {c.label: c for c in report.categories}
    assert categories["予約"].first_response == Durations(2, _d(7.5), _d(10))
    assert categories["商品"].first_response == Durations(2, _d(25), _d(30))
    assert categories[""].first_response == Durations(1, _d(60), _d(60))
    assert categories[""].resolution == Durations()

    staff = {s.label: s for s in report.staff}
    assert staff["葵"].first_response == Durations(3, _d(20), _d(60))
    assert staff["葵"].resolution == Durations(2, 1.5 * HOUR, 2 * HOUR)
    assert staff["蓮"].first_response == Durations(2, _d(20), _d(30))
    assert staff["蓮"].resolution == Durations(1, 3 * HOUR, 3 * HOUR)


def test_the_report_page_shows_the_figures_and_escapes_customers_words(admin_client, known_rows):
    page = admin_client.get("/inbox/inquiries/report?since=2024-05-06&until=2024-05-19")
    assert page.status_code == 200
    assert '<dd id="total-asked">6</dd>' in page.text
    assert '<dd id="overall-first-response">20分</dd>' in page.text
    assert '<dd id="overall-resolution">2時間</dd>' in page.text
    assert "<td>1.5時間</td>" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;ペット連れOK?" in page.text
    assert "<script>alert(1)" not in page.text
    assert "/inbox/faqs/new?question=%E9%A7%90" in page.text  # Create FAQ from this: 駐…


def test_the_report_defaults_to_the_last_eight_weeks(agent_client):
    page = agent_client.get("/inbox/inquiries/report")
    since = page.text.split('name="since" value="', 1)[1][:10]
    until = page.text.split('name="until" value="', 1)[1][:10]
    assert (date.fromisoformat(until) - date.fromisoformat(since)).days == 55
