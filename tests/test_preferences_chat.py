"""The preference centre as the customer sees it in LINE, end to end over the sandbox: the
配信設定 card, topic toggles, 配信停止 / 配信再開 as words and buttons, the history each change
leaves (channel chat, the wording shown), old and doubled taps, campaigns keeping to the
choices, and the history on the inbox's customer panel."""

from __future__ import annotations

import os
from urllib.parse import parse_qs

import pytest
import time_machine
from sqlalchemy import select

from crm.campaigns import campaign_counts
from crm.clock import utcnow
from crm.flex import walk
from crm.models import ConsentChange, Customer, Topic
from crm.topics import set_topic_subscription
from tests import line_payloads as lp
from tests import sandbox_admin as sb
from tests.browser import BROWSER_MARKS, chromium_page
from tests.chat import Chat
from tests.conftest import SHOP_TOPICS
from tests.test_campaigns import TEXT, noon_tokyo, schedule, send_all, tick

TOPICS = SHOP_TOPICS
INTRO = "受け取りたいお知らせを選べます。"
ALL_STOPPED = "現在、すべてのお知らせの配信を停止しています。選んだお知らせも届きません。"


@pytest.fixture(autouse=True)
def topics(shop_topics) -> dict[str, int]:
    return shop_topics


@pytest.fixture
def chat(post_events, work, line):
    talk = Chat(post_events, work, line, sb.create_user(line, "常連さん"))
    talk.send(lp.follow(talk.user))
    return talk


def _customer(db, chat) -> Customer:
    with db.read_session() as session:
        return session.scalars(select(Customer).where(Customer.line_user_id == chat.user)).one()


def _history(db) -> list[tuple]:
    with db.read_session() as session:
        rows = session.scalars(select(ConsentChange).order_by(ConsentChange.id)).all()
        names = {t.id: t.name for t in session.scalars(select(Topic))}
    return [(names.get(r.topic_id, r.subject), r.value, r.channel, r.wording) for r in rows]


def _texts(message: dict) -> list[str]:
    return [c["text"] for c in walk(message.get("contents", {})) if c.get("type") == "text"]


def _buttons(message: dict) -> dict[str, dict]:
    """The card's buttons by postback data, each with its label and displayText."""
    actions = [c["action"] for c in walk(message["contents"]) if c.get("type") == "button"]
    return {a["data"]: a for a in actions}


def _rows(message: dict) -> dict[str, str]:
    """Topic name -> the state its row shows."""
    rows = [
        c
        for c in walk(message["contents"])
        if c.get("layout") == "horizontal"
        and any(k.get("type") == "button" for k in c.get("contents", []))
    ]
    return {row["contents"][0]["text"]: row["contents"][1]["text"] for row in rows}


def _tap(chat, action: dict) -> list[dict]:
    """Tap a card's button as LINE would: the postback's data arrives, nothing else."""
    return chat.tap(action["data"])


# ---------------------------------------------------------------- the card


def test_the_keyword_and_the_postback_show_every_topic_and_the_stop_button(chat, topics):
    [card] = chat.say("配信設定")
    assert card["type"] == "flex" and card["altText"] == "配信設定"
    assert INTRO in _texts(card)
    assert _rows(card) == dict.fromkeys(TOPICS, "配信中")
    buttons = _buttons(card)
    lunch = buttons[f"action=preference&topic={topics['ランチ情報']}&on=0"]
    assert lunch["label"] == "止める" and lunch["displayText"] == "ランチ情報を受け取らない"
    assert buttons["action=marketing&on=0"]["label"] == "配信停止"
    assert "action=marketing&on=1" not in buttons
    [same] = chat.tap("action=preferences")
    assert same == card


def test_without_topics_the_card_has_only_the_stop_control(db, chat):
    with db.transaction() as session:
        for topic in session.scalars(select(Topic)):
            topic.active = False
    [card] = chat.say("　配信設定　")  # full-width spaces fold away
    assert _rows(card) == {}
    assert list(_buttons(card)) == ["action=marketing&on=0"]


# ---------------------------------------------------------------- topics


def test_a_toggle_turns_a_topic_off_and_on_with_its_wording_recorded(db, chat, topics):
    [card] = chat.say("配信設定")
    off = _buttons(card)[f"action=preference&topic={topics['ランチ情報']}&on=0"]
    done, refreshed = _tap(chat, off)
    assert done == {"type": "text", "text": "「ランチ情報」の配信を止めました。"}
    assert _rows(refreshed)["ランチ情報"] == "停止中"
    assert _rows(refreshed)["ディナー情報"] == "配信中"
    on = _buttons(refreshed)[f"action=preference&topic={topics['ランチ情報']}&on=1"]
    assert on["label"] == "受け取る" and on["displayText"] == "ランチ情報を受け取る"
    done, refreshed = _tap(chat, on)
    assert done["text"] == "「ランチ情報」をお届けする設定にしました。"
    assert _rows(refreshed)["ランチ情報"] == "配信中"
    assert _history(db) == [
        ("ランチ情報", False, "chat", f"{INTRO}\nランチ情報: [止める] ランチ情報を受け取らない"),
        ("ランチ情報", True, "chat", f"{INTRO}\nランチ情報: [受け取る] ランチ情報を受け取る"),
    ]


def test_old_and_doubled_taps_record_nothing_more(db, chat, topics):
    [old_card] = chat.say("配信設定")
    off = _buttons(old_card)[f"action=preference&topic={topics['イベント']}&on=0"]
    _tap(chat, off)
    done, card = _tap(chat, off)  # the same button again, on the old card
    assert done["text"] == "「イベント」の配信を止めました。"
    assert _rows(card)["イベント"] == "停止中"
    stop = _buttons(old_card)["action=marketing&on=0"]
    _tap(chat, stop)
    _tap(chat, stop)
    chat.say("配信停止")
    assert [(name, value) for name, value, _c, _w in _history(db)] == [
        ("イベント", False),
        ("marketing", False),
    ]


def test_a_tap_for_a_topic_switched_off_since_the_card_changes_nothing(db, chat, topics):
    [card] = chat.say("配信設定")
    with db.transaction() as session:
        session.get(Topic, topics["クーポン"]).active = False
    gone, fresh = _tap(chat, _buttons(card)[f"action=preference&topic={topics['クーポン']}&on=0"])
    assert gone["text"].startswith("このお知らせの設定はいまはありません")
    assert "クーポン" not in _rows(fresh)
    chat.tap("action=preference&topic=99999999999999999999&on=0")
    chat.tap(f"action=preference&topic={topics['イベント']}&on=maybe")
    assert _history(db) == []


# ---------------------------------------------------------------- stop and resume


def test_the_stop_and_resume_buttons_switch_all_messages(db, chat, topics):
    [card] = chat.say("配信設定")
    done, stopped = _tap(chat, _buttons(card)["action=marketing&on=0"])
    assert done["text"].startswith("配信を停止しました。")
    assert ALL_STOPPED in _texts(stopped) and INTRO not in _texts(stopped)
    resume = _buttons(stopped)["action=marketing&on=1"]
    assert resume["label"] == resume["displayText"] == "配信再開"
    # Topic toggles still work while everything is stopped.
    lunch_off = _buttons(stopped)[f"action=preference&topic={topics['ランチ情報']}&on=0"]
    _done, still_stopped = _tap(chat, lunch_off)
    assert ALL_STOPPED in _texts(still_stopped)
    done, resumed = _tap(chat, resume)
    assert done["text"] == "配信を再開しました。選んだお知らせをお届けします。"
    assert _rows(resumed)["ランチ情報"] == "停止中"
    assert _customer(db, chat).marketing_consent is True
    stop_note = "「配信停止」を押すと、お知らせやクーポンの配信がすべて止まります。"
    resume_note = "「配信再開」を押すと、選んだお知らせがまた届くようになります。"
    history = _history(db)
    assert [(name, value, channel) for name, value, channel, _w in history] == [
        ("marketing", False, "chat"),
        ("ランチ情報", False, "chat"),
        ("marketing", True, "chat"),
    ]
    assert history[0][3].startswith(stop_note) and history[0][3].endswith("\n[配信停止]")
    assert history[1][3].startswith(ALL_STOPPED)
    assert history[2][3] == f"{resume_note}\n[配信再開]"


def test_the_stop_and_resume_keywords_do_what_the_buttons_do(db, chat):
    done, card = chat.say("配信停止")
    assert done["text"].startswith("配信を停止しました。")
    assert "action=marketing&on=1" in _buttons(card)
    assert _customer(db, chat).marketing_consent is False
    done, card = chat.say("配信再開")
    assert done["text"].startswith("配信を再開しました。")
    assert "action=marketing&on=0" in _buttons(card)
    assert _history(db) == [
        ("marketing", False, "chat", "配信停止"),
        ("marketing", True, "chat", "配信再開"),
    ]


def test_in_standby_mode_the_bot_stays_silent(db, chat, line):
    before = len(sb.delivered(line, chat.user))
    assert chat.send(lp.text(chat.user, "配信設定", mode="standby")) == []
    assert len(sb.delivered(line, chat.user)) == before


# ---------------------------------------------------------------- campaigns keep to it


def test_a_campaign_about_a_topic_skips_who_turned_it_off_in_the_chat(
    db, line, chat, post_events, work, sender, topics
):
    keeps = Chat(post_events, work, line, sb.create_user(line, "ランチ好き"))
    keeps.send(lp.follow(keeps.user))
    stops = Chat(post_events, work, line, sb.create_user(line, "配信不要"))
    stops.send(lp.follow(stops.user))
    chat.tap(f"action=preference&topic={topics['ランチ情報']}&on=0")
    stops.say("配信停止")
    with time_machine.travel(noon_tokyo(), tick=True):
        campaign_id = schedule(db, topic=topics["ランチ情報"])
        tick(db)
        send_all(sender)
        with db.read_session() as session:
            counts = campaign_counts(session, campaign_id, utcnow())
    assert counts["sent"] == 1
    assert counts["held_back"]["topic"] == 1 and counts["held_back"]["no_consent"] == 1
    lunch_news = [
        [d for d in sb.delivered(line, talk.user) if d["message"] == TEXT[0]]
        for talk in (chat, keeps, stops)
    ]
    assert [len(got) for got in lunch_news] == [0, 1, 0]


# ---------------------------------------------------------------- the inbox's customer panel


def test_the_customer_panel_shows_the_history_with_wording_channel_and_staff(
    db, chat, admin_client, topics
):
    chat.tap(f"action=preference&topic={topics['ディナー情報']}&on=0")
    customer = _customer(db, chat)
    with db.transaction() as session:
        row = session.get(Customer, customer.id)
        event = session.get(Topic, topics["イベント"])
        set_topic_subscription(session, row, event, False, row.created_at, "api")
    base = f"/inbox/customers/{customer.id}"
    admin_client.post(
        f"{base}/consent",
        data={"csrf_token": admin_client.csrf, "marketing_consent": "0", "next": base},
    )
    page = admin_client.get(base).text
    history = page.split('class="consent-history"', 1)[1].split("</ul>", 1)[0]
    assert "ディナー情報を受け取らない" in history
    assert "ディナー情報" in history and "イベント" in history
    assert "店長" in history  # the staff member who changed the consent
    for channel in ("chat", "api", "staff"):
        assert f'data-channel="{channel}"' in history
    with db.read_session() as session:
        staff_change = session.scalars(
            select(ConsentChange).where(ConsentChange.channel == "staff")
        ).one()
    assert staff_change.staff_id == admin_client.staff.id


def test_postback_data_names_only_what_to_set(chat, topics):
    [card] = chat.say("配信設定")
    for data in _buttons(card):
        fields = parse_qs(data)
        assert set(fields) <= {"action", "topic", "on"}
        assert fields["on"] in (["0"], ["1"])


# ---------------------------------------------------------------- on the phone page


@pytest.fixture
def page():
    with chromium_page() as tab:
        yield tab


@BROWSER_MARKS[0]
@BROWSER_MARKS[1]
def test_the_card_on_the_phone_page_toggles_a_topic(page, live_app, line, tmp_path):
    page.on("dialog", lambda dialog: dialog.accept("常連さん"))  # the new user's name
    page.goto(f"{line.url}/")
    page.click("#new-user")
    page.wait_for_function("document.querySelector('#user-select').options.length === 1")
    page.click("#follow")
    page.wait_for_selector(".msg.bot.flex")
    page.fill("#text", "配信設定")
    page.press("#text", "Enter")
    card = page.locator(".msg.bot.flex", has_text=INTRO).last
    card.wait_for(timeout=15_000)
    card.locator("button", has_text="止める").first.click()
    page.wait_for_selector("text=「ランチ情報」の配信を止めました。", timeout=15_000)
    refreshed = page.locator(".msg.bot.flex", has_text="停止中").last
    refreshed.wait_for(timeout=15_000)
    assert "停止中" in refreshed.inner_text()
    refreshed.scroll_into_view_if_needed()
    shots = os.environ.get("SCREENSHOT_DIR") or str(tmp_path)
    refreshed.screenshot(path=f"{shots}/preferences-phone.png")
