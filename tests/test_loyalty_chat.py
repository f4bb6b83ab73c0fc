"""Loyalty as the customer sees it in LINE, end to end: webhook events in, the worker's rounds,
the replies as LINE (the sandbox) received them. Stamp cards, the counter QR, coupons, the member
card, welcome gifts, survey rewards, and the QR images the cards show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

import pytest
import time_machine
from sqlalchemy import select

from crm.clock import utcnow
from crm.flex import walk
from crm.loyalty.counter import make_token, token_url
from crm.loyalty.coupons import CouponInput, create_coupon, issue_coupon, redeem, revoke
from crm.loyalty.models import IssuedCoupon, StampEntry
from crm.loyalty.programs import default_program
from crm.loyalty.stamps import grant_stamps
from crm.loyalty.welcome import set_welcome_coupon
from crm.models import Customer
from tests import line_payloads as lp
from tests import sandbox_admin as sb
from tests.chat import Chat

BASE_URL = "https://crm.example.jp"
TOKYO_NOON = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # 12:00 in Tokyo


@pytest.fixture
def settings(settings):
    return settings.with_changes(public_base_url=BASE_URL)


@pytest.fixture
def chat(post_events, work, line):
    return Chat(post_events, work, line, sb.create_user(line, "常連さん"))


@pytest.fixture
def other(post_events, work, line):
    return Chat(post_events, work, line, sb.create_user(line, "別のお客さま"))


def _customer(db, chat) -> Customer:
    with db.read_session() as session:
        return session.scalars(select(Customer).where(Customer.line_user_id == chat.user)).one()


def _program_id(db, **changes) -> int:
    """The default program (10 stamps, a free drink at 10), with some rules changed."""
    with db.transaction() as session:
        program = default_program(session)
        for name, value in changes.items():
            setattr(program, name, value)
        return program.id


def _grant(db, chat, count: int, now=None) -> None:
    """Stamps given at the counter screen (not through the chat)."""
    from zoneinfo import ZoneInfo

    with db.transaction() as session:
        customer = session.get(Customer, _customer(db, chat).id)
        program = default_program(session)
        grant_stamps(
            session, customer, program, count, now or utcnow(), ZoneInfo("Asia/Tokyo"), via="staff"
        )


def _scan(services, program_id: int, now=None) -> str:
    """What the customer sends after scanning the counter QR with LINE's camera: the text the
    oaMessage URL opens the chat with."""
    token, _ = make_token(services.settings.secret_key, program_id, 1, now or utcnow())
    url = token_url(services.settings.line_basic_id, token)
    return unquote(urlsplit(url).query)


def _texts_of(message: dict) -> list[str]:
    return [c["text"] for c in walk(message.get("contents", {})) if c.get("type") == "text"]


def _cells(message: dict) -> tuple[int, int]:
    """A stamp card's (filled, total) cells."""
    cells = [c for c in walk(message["contents"]) if c.get("width") == "40px"]
    filled = [c for c in cells if c["contents"][0]["text"] == "★"]
    return len(filled), len(cells)


def _images(message: dict) -> list[str]:
    return [c["url"] for c in walk(message["contents"]) if c.get("type") == "image"]


def _is_stamp_card(message: dict) -> bool:
    return message["type"] == "flex" and any(c.get("width") == "40px" for c in walk(message))


def _started(chat) -> None:
    """The customer has written once, so they exist."""
    chat.say("こんにちは")


# ---------------------------------------------------------------- the stamp card


def test_the_keyword_shows_the_card_with_a_cell_per_stamp(db, chat):
    _program_id(db, per_day_limit=None)
    _started(chat)
    _grant(db, chat, 7)
    [card] = chat.say("ｽﾀﾝﾌﾟｶｰﾄﾞ")  # half-width: the same keyword
    assert card["type"] == "flex"
    assert _cells(card) == (7, 10)
    texts = _texts_of(card)
    assert "7" in texts and "/ 10" in texts
    assert "あと3個で ドリンク1杯無料" in texts
    assert "スタンプカード 7/10" in card["altText"]
    rows = [
        c
        for c in walk(card["contents"])
        if c.get("layout") == "horizontal"
        and any(k.get("width") == "40px" for k in c.get("contents", []))
    ]
    assert [len(row["contents"]) for row in rows] == [5, 5]


def test_the_rich_menu_postbacks_show_the_card_coupons_and_member_card(db, chat):
    _started(chat)
    [card] = chat.tap("action=stamp_card")
    assert _cells(card) == (0, 10)
    [none] = chat.tap("action=coupons")
    assert none == {"type": "text", "text": "いまお使いいただけるクーポンはありません。"}
    [member] = chat.tap("action=member_card")
    assert member["altText"] == "会員証"


def test_every_active_program_has_its_card_the_default_first(db, chat):
    from crm.loyalty.programs import ProgramInput, create_program

    _program_id(db)
    with db.transaction() as session:
        create_program(session, ProgramInput(name="ランチスタンプ", stamps_needed=6))
    _started(chat)
    [cards] = chat.say("スタンプカード")
    assert cards["contents"]["type"] == "carousel"
    names = [b["header"]["contents"][1]["text"] for b in cards["contents"]["contents"]]
    assert names == ["スタンプカード", "ランチスタンプ"]
    bubbles = cards["contents"]["contents"]
    sizes = [len([c for c in walk(b) if c.get("width") == "40px"]) for b in bubbles]
    assert sizes == [10, 6]


# ---------------------------------------------------------------- the counter QR


def test_a_counter_qr_earns_one_stamp_once_and_says_why_not_again(db, chat, other, services):
    program_id = _program_id(db)
    _started(chat)
    other.say("こんにちは")
    with time_machine.travel(TOKYO_NOON, tick=False):
        scanned = _scan(services, program_id)
        assert scanned.startswith("スタンプをください STAMP-")
        [card] = chat.say(scanned)
        assert _is_stamp_card(card)
        assert _cells(card) == (1, 10)
        assert "スタンプを1個押しました！" in _texts_of(card)

        [again] = chat.say(scanned)
        assert "すでに使われています" in again["text"]
        [theirs] = other.say(scanned)
        assert "すでに使われています" in theirs["text"]

        [limit] = chat.say(_scan(services, program_id))  # a fresh QR, the same day
        assert "本日のスタンプはすでに押されています（1日1個まで）" in limit["text"]
    with time_machine.travel(TOKYO_NOON + timedelta(days=1), tick=False):
        [card] = chat.say(_scan(services, program_id))
        assert _cells(card) == (2, 10)
    with db.read_session() as session:
        entries = session.scalars(select(StampEntry).order_by(StampEntry.id)).all()
    assert [(e.via, e.delta) for e in entries] == [("counter_qr", 1), ("counter_qr", 1)]


def test_an_expired_or_forged_counter_qr_earns_nothing(db, chat, services):
    program_id = _program_id(db)
    _started(chat)
    scanned = _scan(services, program_id, TOKYO_NOON)
    with time_machine.travel(TOKYO_NOON + timedelta(minutes=2), tick=False):
        [expired] = chat.say(scanned)
    assert "有効期限が切れています" in expired["text"]

    with time_machine.travel(TOKYO_NOON, tick=False):
        good = _scan(services, program_id)
        forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
        [refused] = chat.say(forged)
        assert "読み取れませんでした" in refused["text"]
        token, _ = make_token("someone-elses-secret", program_id, 5, utcnow())
        [refused] = chat.say(f"スタンプをください {token}")
        assert "読み取れませんでした" in refused["text"]
    with db.read_session() as session:
        assert session.scalars(select(StampEntry)).all() == []


def test_too_soon_says_when_the_next_stamp_can_come(db, chat, services):
    program_id = _program_id(db, per_day_limit=None, min_interval_minutes=60)
    _started(chat)
    with time_machine.travel(TOKYO_NOON, tick=False):
        chat.say(_scan(services, program_id))
    with time_machine.travel(TOKYO_NOON + timedelta(minutes=10), tick=False):
        [soon] = chat.say(_scan(services, program_id))
    assert "13:00以降" in soon["text"]


def test_the_tenth_stamp_completes_the_card_and_the_reward_arrives(db, chat, services):
    program_id = _program_id(db, per_day_limit=None)
    _started(chat)
    _grant(db, chat, 9)
    messages = chat.say(_scan(services, program_id))
    card, coupon = messages
    assert _cells(card) == (10, 10)
    assert "カード達成、おめでとうございます！" in "\n".join(_texts_of(card))
    assert coupon["altText"] == "クーポン: ドリンク1杯無料"
    texts = _texts_of(coupon)
    assert "無料" in texts and "スタンプカード達成のごほうびです" in texts
    with db.read_session() as session:
        issued = session.scalars(select(IssuedCoupon)).one()
    assert issued.source == "reward"
    code = f"{issued.code[:4]}-{issued.code[4:8]}-{issued.code[8:]}"
    assert code in texts
    assert _images(coupon) == [f"{BASE_URL}/qr/coupon/{issued.code}.png"]

    [fresh] = chat.say("スタンプカード")
    assert _cells(fresh) == (0, 10)
    assert "これまでに1枚達成" in _texts_of(fresh)


# ---------------------------------------------------------------- coupons


def _coupon(session, title: str, **fields) -> object:
    return create_coupon(session, CouponInput(title=title, **fields))


def test_the_coupon_keyword_lists_valid_coupons_only(db, chat):
    _started(chat)
    now = utcnow()
    with db.transaction() as session:
        customer = session.get(Customer, _customer(db, chat).id)
        lunch = _coupon(
            session, "ランチ10%OFF", discount_type="percent", discount_value=10, valid_days=30
        )
        cake = _coupon(session, "ケーキ100円引き", discount_type="amount", discount_value=100)
        old = _coupon(session, "先月のクーポン", discount_type="other", valid_days=1)
        used = _coupon(session, "使用済み", discount_type="free_item")
        gone = _coupon(session, "取り消し", discount_type="free_item")
        for coupon in (lunch, cake, used, gone):
            issue_coupon(session, coupon, customer, now, source="staff")
        issue_coupon(session, old, customer, now - timedelta(days=3), source="staff")
        [used_code] = [i for i in session.scalars(select(IssuedCoupon)) if i.coupon_id == used.id]
        redeem(session, used_code.code, now, via="staff")
        [gone_code] = [i for i in session.scalars(select(IssuedCoupon)) if i.coupon_id == gone.id]
        revoke(session, gone_code, now, staff_id=None, reason="テスト")
    [listing] = chat.say("クーポン")
    assert listing["contents"]["type"] == "carousel"
    bubbles = listing["contents"]["contents"]
    titles = [b["body"]["contents"][0]["text"] for b in bubbles]
    assert titles == ["ランチ10%OFF", "ケーキ100円引き"]  # the soonest ending first
    assert "10%OFF" in _texts_of({"contents": bubbles[0]})
    assert "100円引き" in _texts_of({"contents": bubbles[1]})
    assert "有効期限なし" in _texts_of({"contents": bubbles[1]})
    assert listing["altText"] == "お使いいただけるクーポン（2枚）"


# ---------------------------------------------------------------- the member card and QR images


def test_the_member_card_shows_the_number_and_a_signed_qr(db, chat, client):
    _started(chat)
    [card] = chat.say("会員証")
    with db.read_session() as session:
        from crm.loyalty.models import MemberCard

        number = session.get(MemberCard, _customer(db, chat).id).number
    assert f"{number[:4]} {number[4:]}" in _texts_of(card)
    [url] = _images(card)
    assert url.startswith(f"{BASE_URL}/qr/member/{number}-")
    image = client.get(urlsplit(url).path)
    assert image.status_code == 200
    assert image.mimetype == "image/png"
    assert image.data.startswith(b"\x89PNG")
    assert "max-age" in image.headers["Cache-Control"]
    other_number = f"{(int(number) + 1) % 10**8:08d}"
    signature = urlsplit(url).path.rsplit("-", 1)[1]
    assert client.get(f"/qr/member/{other_number}-{signature}").status_code == 404
    assert client.get(f"/qr/member/{number}-{'A' * 16}.png").status_code == 404


def test_coupon_qr_images_exist_only_for_issued_codes(db, chat, client):
    _started(chat)
    with db.transaction() as session:
        customer = session.get(Customer, _customer(db, chat).id)
        coupon = _coupon(session, "ドリンク", discount_type="free_item")
        code = issue_coupon(session, coupon, customer, utcnow(), source="staff").issued.code
    assert client.get(f"/qr/coupon/{code}.png").status_code == 200
    assert client.get(f"/qr/coupon/{code[:-1]}X.png").status_code == 404
    assert client.get("/qr/coupon/not-a-code.png").status_code == 404


# ---------------------------------------------------------------- a first follow


def test_a_first_follow_brings_starter_stamps_and_the_welcome_coupon_once(db, chat):
    _program_id(db, starter_stamps=2)
    with db.transaction() as session:
        welcome = _coupon(
            session, "初回10%OFF", discount_type="percent", discount_value=10, per_customer_limit=5
        )
        set_welcome_coupon(session, welcome.id)
    greeting, card, coupon = chat.send(lp.follow(chat.user))
    assert "友だち追加ありがとうございます" in greeting["altText"]
    assert _cells(card) == (2, 10)
    assert "友だち追加の特典です。スタンプを2個プレゼント！" in _texts_of(card)
    assert coupon["altText"] == "クーポン: 初回10%OFF"
    assert "友だち追加のお礼のクーポンです" in _texts_of(coupon)

    chat.send(lp.unfollow(chat.user))
    [greeting] = chat.send(lp.follow(chat.user, is_unblocked=True))
    [greeting] = chat.send(lp.follow(chat.user))  # LINE's flag is not always right
    assert greeting["altText"].startswith("友だち追加")
    with db.read_session() as session:
        assert len(session.scalars(select(IssuedCoupon)).all()) == 1
        assert len(session.scalars(select(StampEntry)).all()) == 1


# ---------------------------------------------------------------- a survey's reward


QUESTIONS = [
    {"key": "rating", "text": "満足度は？", "type": "rating"},
    {"key": "comment", "text": "ひとことどうぞ", "type": "text"},
]


def test_a_completed_survey_earns_its_reward_coupon_once(db, chat, api):
    with db.transaction() as session:
        coupon_id = _coupon(session, "次回100円引き", discount_type="amount", discount_value=100).id
    body = {"name": "来店アンケート", "keyword": "アンケート", "questions": QUESTIONS}
    refused = api("POST", "/surveys", {**body, "reward_coupon_id": 999999})
    assert refused.status_code == 422
    assert "reward_coupon_id" in refused.text
    created = api("POST", "/surveys", {**body, "reward_coupon_id": coupon_id})
    assert created.status_code == 201, created.text
    survey = created.json["data"]
    assert survey["reward_coupon_id"] == coupon_id

    chat.say("アンケート")
    chat.say("5")
    thanks, coupon = chat.say("また来ます")
    assert thanks["text"] == "ご回答ありがとうございました！"
    assert coupon["altText"] == "クーポン: 次回100円引き"
    assert "アンケートご回答のお礼のクーポンです" in _texts_of(coupon)
    with db.read_session() as session:
        issued = session.scalars(select(IssuedCoupon)).one()
    assert (issued.source, issued.source_id) == ("survey", survey["id"])

    chat.say("アンケート")
    chat.say("4")
    [thanks] = chat.say("二回目")  # one per customer: the coupon's limit
    assert thanks["text"] == "ご回答ありがとうございました！"

    cleared = api("PATCH", f"/surveys/{survey['id']}", {"reward_coupon_id": None})
    assert cleared.json["data"]["reward_coupon_id"] is None


def test_the_survey_builder_names_the_reward_coupon(admin_client, db):
    with db.transaction() as session:
        coupon_id = _coupon(session, "次回ドリンク無料", discount_type="free_item").id
        paused = _coupon(session, "休止中のクーポン", discount_type="free_item", active=False).id
    page = admin_client.get("/inbox/surveys/new")
    assert "次回ドリンク無料" in page.text and "休止中のクーポン" not in page.text
    form = {
        "csrf_token": admin_client.csrf,
        "action": "save",
        "name": "ごほうび付きアンケート",
        "expire_hours": "24",
        "reward_coupon_id": str(coupon_id),
        "rows": "1",
        "q0_text": "満足度は？",
        "q0_type": "rating",
    }
    saved = admin_client.post("/inbox/surveys/new", data=form)
    assert saved.status_code == 302, saved.text
    survey_id = int(saved.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    with db.read_session() as session:
        from crm.loyalty.survey_rewards import reward_coupon_id

        assert reward_coupon_id(session, survey_id) == coupon_id
    edit = admin_client.get(f"/inbox/surveys/{survey_id}/edit")
    assert f'<option value="{coupon_id}" selected>' in edit.text
    form["reward_coupon_id"] = str(paused + 1000)
    refused = admin_client.post(f"/inbox/surveys/{survey_id}/edit", data=form)
    assert refused.status_code == 422
    assert "reward_coupon_id" in refused.text
    form["reward_coupon_id"] = ""
    assert admin_client.post(f"/inbox/surveys/{survey_id}/edit", data=form).status_code == 302
    with db.read_session() as session:
        assert reward_coupon_id(session, survey_id) is None


def test_a_follow_answer_past_five_messages_arrives_whole_and_in_order(db, chat):
    from crm.loyalty.programs import ProgramInput, create_program
    from crm.surveys import create_survey

    _program_id(db, starter_stamps=1)
    with db.transaction() as session:
        for name in ("ランチ", "ディナー", "テイクアウト"):
            create_program(session, ProgramInput(name=name, stamps_needed=5, starter_stamps=1))
        welcome = _coupon(session, "初回ドリンク無料", discount_type="free_item")
        set_welcome_coupon(session, welcome.id)
        create_survey(session, "はじめまして", QUESTIONS[:1], on_follow=True)
    messages = chat.send(lp.follow(chat.user))
    assert len(messages) == 7
    assert "友だち追加ありがとうございます" in messages[0]["altText"]
    assert [_cells(m)[1] for m in messages[1:5]] == [10, 5, 5, 5]
    assert messages[5]["altText"] == "クーポン: 初回ドリンク無料"
    assert messages[6]["text"] == "満足度は？"
    deliveries = [r for r in sb.api_requests(chat.line) if "/message/" in r.get("path", "")]
    assert len(deliveries) >= 2  # one reply (or push) of five, one push of the rest
