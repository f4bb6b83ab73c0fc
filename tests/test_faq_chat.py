"""Questions in the chat, end to end over the sandbox: FAQ answers to paraphrased questions with
解決しました / スタッフに聞く, もしかして suggestions, the お問い合わせ category menu, the
hand-off (the bot goes quiet until staff resolve the chat or resume it), routing by category,
first-response and resolution times, and the away message that says when staff will answer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import time_machine
from sqlalchemy import select

from crm.business_hours import BusinessHours, save_business_hours
from crm.faq.entries import FaqSettings, save_faq_settings
from crm.faq.matching import Thresholds
from crm.faq.models import Faq, FaqLookup
from crm.faq.samples import add_sample_faqs
from crm.inquiries.models import Inquiry
from crm.inquiries.routing import InquirySettings, Route, save_inquiry_settings
from crm.models import Conversation, Customer
from tests import line_payloads as lp
from tests import sandbox_admin as sb
from tests.chat import Chat
from tests.conftest import csrf_from

DATA = Path(__file__).parent / "data"


def seed_sample_faqs(db) -> dict[str, int]:
    """The sample restaurant's 31 FAQs; returns their sample names → database ids."""
    with db.transaction() as session:
        return add_sample_faqs(session)


@pytest.fixture
def faqs(db):
    return seed_sample_faqs(db)


@pytest.fixture
def chat(post_events, work, line):
    return Chat(post_events, work, line, sb.create_user(line, "質問する客"))


def _quick_labels(message: dict) -> list[str]:
    return [item["action"]["label"] for item in message.get("quickReply", {}).get("items", [])]


def _quick_data(message: dict, label: str) -> str:
    for item in message["quickReply"]["items"]:
        if item["action"]["label"] == label:
            return item["action"]["data"]
    raise AssertionError(f"no quick reply {label!r} in {_quick_labels(message)}")


def _customer(db, chat) -> Customer:
    with db.session() as session:
        return session.scalar(select(Customer).where(Customer.line_user_id == chat.user))


def _conversation(db, chat) -> Conversation:
    customer = _customer(db, chat)
    with db.session() as session:
        return session.scalar(select(Conversation).where(Conversation.customer_id == customer.id))


def _inquiries(db, chat) -> list[Inquiry]:
    customer = _customer(db, chat)
    with db.session() as session:
        statement = select(Inquiry).where(Inquiry.customer_id == customer.id).order_by(Inquiry.id)
        return list(session.scalars(statement))


def _lookups(db) -> list[FaqLookup]:
    with db.session() as session:
        return list(session.scalars(select(FaqLookup).order_by(FaqLookup.id)))


def _answer_text(db, faq_id: int) -> str:
    with db.session() as session:
        return session.get(Faq, faq_id).answer


def test_a_paraphrased_question_gets_the_faq_answer_with_feedback_buttons(db, faqs, chat):
    [answer] = chat.say("明日って何時まで開いてますか")
    assert answer["text"] == _answer_text(db, faqs["hours"])
    assert _quick_labels(answer)[:2] == ["解決しました", "スタッフに聞く"]
    [lookup] = _lookups(db)
    assert (lookup.decision, lookup.faq_id, lookup.category) == (
        "answer",
        faqs["hours"],
        "営業時間・アクセス",
    )
    conversation = _conversation(db, chat)
    assert not conversation.awaiting_reply  # the bot answered: nothing for staff
    assert conversation.last_preview == "明日って何時まで開いてますか"
    assert _inquiries(db, chat) == []


def test_kana_only_casual_question_finds_the_parking_answer(db, faqs, chat):
    [answer] = chat.say("ちゅうしゃじょうある？")
    assert answer["text"] == _answer_text(db, faqs["parking"])


def test_resolved_records_deflection_once(db, faqs, chat):
    [answer] = chat.say("Wi-Fiありますか")
    data = _quick_data(answer, "解決しました")
    [thanks] = chat.tap(data)
    assert "よかった" in thanks["text"]
    assert chat.tap(data) == []  # a doubled tap changes nothing and says nothing
    [lookup] = _lookups(db)
    assert lookup.outcome == "resolved" and lookup.outcome_at is not None


def test_unsure_question_suggests_the_closest_faqs_and_a_tap_answers(db, faqs, chat):
    with db.transaction() as session:  # answer only when certain: everything else is suggested
        save_faq_settings(session, FaqSettings(thresholds=Thresholds(answer=1.0, suggest=0.2)))
    [card] = chat.say("ちゅうしゃじょうある？")
    assert card["type"] == "flex" and card["altText"].startswith("もしかして")
    buttons = card["contents"]["footer"]["contents"]
    assert 2 <= len(buttons) <= 4 and buttons[-1]["action"]["label"] == "スタッフに聞く"
    first = parse_qs(buttons[0]["action"]["data"])
    assert first["action"] == ["faq"] and int(first["id"][0]) == faqs["parking"]
    [answer] = chat.tap(buttons[0]["action"]["data"])
    assert answer["text"] == _answer_text(db, faqs["parking"])
    [lookup] = _lookups(db)
    assert (lookup.decision, lookup.outcome, lookup.faq_id) == (
        "suggest",
        "picked",
        faqs["parking"],
    )
    chat.tap(_quick_data(answer, "解決しました"))
    assert _lookups(db)[0].outcome == "resolved"  # a picked suggestion can still be resolved


def test_unmatched_question_becomes_an_inquiry_for_staff(db, faqs, chat):
    [ack] = chat.say("明日の天気は？")
    assert "担当者" in ack["text"]
    [inquiry] = _inquiries(db, chat)
    assert (inquiry.status, inquiry.source, inquiry.category) == ("open", "unmatched", None)
    assert inquiry.first_text == "明日の天気は？"
    assert _conversation(db, chat).awaiting_reply
    assert _lookups(db)[0].decision == "handoff"
    chat.say("晴れるといいな")  # the same open inquiry continues
    assert len(_inquiries(db, chat)) == 1


def test_asking_for_staff_pauses_the_bot_until_staff_resolve(db, faqs, chat, admin_client):
    [reply] = chat.say("スタッフと話したい")
    assert "担当スタッフ" in reply["text"]
    conversation = _conversation(db, chat)
    assert conversation.bot_paused and conversation.awaiting_reply
    [inquiry] = _inquiries(db, chat)
    assert inquiry.source == "handoff"
    assert chat.say("Wi-Fiありますか") == []  # paused: no FAQ answer, no acknowledgement
    assert len(_lookups(db)) == 0
    page = admin_client.get(f"/inbox/conversations/{conversation.id}").get_data(as_text=True)
    assert "resume-bot" in page

    token = csrf_from(page)
    assert _reply(admin_client, conversation.id, token, "お待たせしました。").status_code in (
        200,
        302,
    )
    assert _inquiries(db, chat)[0].first_response_at is not None
    response = admin_client.post(
        f"/inbox/conversations/{conversation.id}/status",
        data={"status": "resolved", "csrf_token": token},
    )
    assert response.status_code == 302
    [inquiry] = _inquiries(db, chat)
    assert inquiry.status == "resolved" and inquiry.resolved_by_id is not None
    assert not _conversation(db, chat).bot_paused
    answer = chat.say("Wi-Fiありますか")[-1]  # the bot answers again (after the staff reply)
    assert answer["text"] == _answer_text(db, faqs["wifi"])


def _reply(client, conversation_id: int, token: str, text: str):
    return client.post(
        f"/inbox/conversations/{conversation_id}/reply",
        data={"text": text, "csrf_token": token, "reply_token": str(uuid.uuid4())},
    )


def test_staff_resume_the_bot_without_resolving(db, faqs, chat, admin_client):
    chat.say("人と話したい")
    conversation = _conversation(db, chat)
    token = csrf_from(
        admin_client.get(f"/inbox/conversations/{conversation.id}").get_data(as_text=True)
    )
    assert (
        admin_client.post(
            f"/inbox/conversations/{conversation.id}/resume-bot", data={"csrf_token": token}
        ).status_code
        == 302
    )
    assert not _conversation(db, chat).bot_paused
    assert _inquiries(db, chat)[0].status == "open"  # still staff's to resolve
    [answer] = chat.say("Wi-Fiありますか")
    assert answer["text"] == _answer_text(db, faqs["wifi"])


def test_resume_without_csrf_is_refused(db, faqs, chat, admin_client):
    chat.say("人と話したい")
    conversation = _conversation(db, chat)
    response = admin_client.post(f"/inbox/conversations/{conversation.id}/resume-bot")
    assert response.status_code in (400, 403)
    assert _conversation(db, chat).bot_paused


def test_staff_button_after_an_answer_hands_off_with_the_faq_category(db, faqs, chat, make_staff):
    clerk = make_staff("reserve@shop.example", role="agent", name="予約係")
    with db.transaction() as session:
        routes = {"予約": Route("fixed", (clerk.id,))}
        save_inquiry_settings(session, InquirySettings(routes=routes))
    [answer] = chat.say("予約")
    [reply] = chat.tap(_quick_data(answer, "スタッフに聞く"))
    assert "担当スタッフ" in reply["text"]
    [inquiry] = _inquiries(db, chat)
    assert (inquiry.category, inquiry.source, inquiry.assignee_id) == ("予約", "handoff", clerk.id)
    conversation = _conversation(db, chat)
    assert conversation.bot_paused and conversation.assignee_id == clerk.id
    assert conversation.awaiting_reply
    assert _lookups(db)[0].outcome == "handoff"


def test_category_menu_lists_the_categorys_faqs_and_files_the_inquiry(db, faqs, chat):
    [menu] = chat.tap("action=inquiry")
    assert _quick_labels(menu) == ["予約", "営業時間・アクセス", "商品", "その他", "スタッフに聞く"]
    [listing] = chat.tap(_quick_data(menu, "予約"))
    assert "予約" in listing["text"]
    labels = _quick_labels(listing)
    assert labels[-1] == "スタッフに聞く" and len(labels) >= 3
    with db.session() as session:
        first = session.get(
            Faq, int(parse_qs(listing["quickReply"]["items"][0]["action"]["data"])["id"][0])
        )
        assert first.category == "予約"
    chat.say("明日の天気は？")
    [inquiry] = _inquiries(db, chat)
    assert inquiry.category == "予約" and inquiry.first_text == "明日の天気は？"


def test_round_robin_gives_each_new_inquiry_to_the_next_staff_member(
    db, faqs, post_events, work, line, make_staff
):
    first = make_staff("a@shop.example", role="agent", name="A")
    second = make_staff("b@shop.example", role="agent", name="B")
    with db.transaction() as session:
        fallback = Route("round_robin", (first.id, second.id))
        save_inquiry_settings(session, InquirySettings(fallback=fallback))
    assignees = []
    for name in ("客1", "客2", "客3"):
        chat = Chat(post_events, work, line, sb.create_user(line, name))
        chat.say("明日の天気は？")
        assignees.append(_inquiries(db, chat)[0].assignee_id)
    assert assignees == [first.id, second.id, first.id]


def test_hand_off_outside_hours_says_when_staff_will_answer(db, faqs, chat):
    with db.transaction() as session:
        weekly = {day: ((time(11, 0), time(20, 0)),) for day in range(7)}
        save_business_hours(session, BusinessHours(enabled=True, weekly=weekly))
    with time_machine.travel(datetime(2026, 12, 1, 14, 0, tzinfo=UTC), tick=True):  # 23:00
        [reply] = chat.say("スタッフと話したい")
    assert "明日11:00以降" in reply["text"]
    assert _conversation(db, chat).bot_paused


def test_a_question_that_mentions_staff_is_not_a_hand_off(db, faqs, chat):
    chat.say("スタッフの人数は何人ですか")
    assert not _conversation(db, chat).bot_paused


def test_faq_answers_can_be_switched_off(db, faqs, chat):
    with db.transaction() as session:
        save_faq_settings(session, FaqSettings(enabled=False))
    [ack] = chat.say("Wi-Fiありますか")
    assert "担当者" in ack["text"]
    assert _inquiries(db, chat)[0].source == "unmatched"


def test_an_inactive_or_deleted_faq_tapped_later_says_it_is_gone(db, faqs, chat):
    with db.transaction() as session:
        session.get(Faq, faqs["wifi"]).active = False
    [reply] = chat.tap(f"action=faq&id={faqs['wifi']}")
    assert "公開されていません" in reply["text"]
    [reply] = chat.tap("action=faq&id=999999")
    assert "公開されていません" in reply["text"]


def test_photo_outside_a_survey_continues_the_inquiry(db, faqs, chat):
    assert chat.send(lp.message(chat.user, {"type": "image", "id": "901"})) == []
    [inquiry] = _inquiries(db, chat)
    assert (inquiry.source, inquiry.first_text) == ("message", "[image]")
    chat.send(
        lp.message(chat.user, {"type": "sticker", "id": "902", "packageId": "1", "stickerId": "1"})
    )
    assert len(_inquiries(db, chat)) == 1
