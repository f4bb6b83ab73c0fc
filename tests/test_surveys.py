"""Surveys in the chat, end to end: webhook events in, the worker's rounds, LINE (the sandbox)
out, answers and CRM data in the database."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from bot.flow_turns import send_flow
from crm.attributes import define_attribute, values_of
from crm.bot_texts import load_texts
from crm.clock import utcnow
from crm.flows import NotStarted, replace_steps
from crm.models import (
    RUN_CANCELLED,
    RUN_COMPLETED,
    RUN_IN_PROGRESS,
    AuditEntry,
    Conversation,
    Customer,
    Flow,
    FlowAnswer,
    FlowRun,
    FlowVersion,
    Interaction,
)
from crm.surveys import create_survey
from crm.tags import tags_of
from tests import line_payloads as lp
from tests import sandbox_admin as sb
from tests.chat import Chat

VISIT = [
    {
        "key": "scene",
        "text": "ご利用シーンは？",
        "type": "single_choice",
        "attribute": "利用シーン",
        "choices": [
            {"label": "ランチ", "value": "lunch", "tags": ["ランチ"]},
            {"label": "ディナー", "value": "dinner", "tags": ["ディナー"]},
            {"label": "テイクアウト", "value": "takeout"},
        ],
    },
    {
        "key": "rating",
        "text": "満足度は？",
        "type": "rating",
        "branches": [
            {
                "if": {"op": "lte", "value": 2},
                "goto": "why",
                "tags": ["要フォロー"],
                "needs_reply": True,
            }
        ],
    },
    {"key": "nps", "text": "おすすめ度は？", "type": "nps"},
    {
        "key": "comment",
        "text": "ご意見をお聞かせください",
        "type": "text",
        "next": "end",
    },
    {"key": "why", "text": "どの点が残念でしたか？", "type": "text"},
]


def buttons(message: dict) -> dict[str, str]:
    """A question's buttons: label → postback data (quick replies or a Flex list)."""
    if "quickReply" in message:
        actions = [item["action"] for item in message["quickReply"]["items"]]
    else:
        actions = [b["action"] for b in message["contents"]["footer"]["contents"]]
    return {a["label"]: a.get("data", "") for a in actions}


def texts(messages: list[dict]) -> list[str]:
    return [m.get("text") or m.get("altText") for m in messages]


@pytest.fixture
def survey(db):
    with db.transaction() as session:
        define_attribute(session, "scene", "利用シーン", "text", [])
        flow = create_survey(session, "来店アンケート", VISIT, keyword="アンケート")
    return flow.id


@pytest.fixture
def chat(post_events, work, line):
    user = sb.create_user(line, "回答者")
    return Chat(post_events, work, line, user)


def _customer(db, chat) -> Customer:
    with db.read_session() as session:
        return session.scalars(select(Customer).where(Customer.line_user_id == chat.user)).one()


def _runs(db, chat) -> list[FlowRun]:
    customer = _customer(db, chat)
    with db.read_session() as session:
        return list(
            session.scalars(
                select(FlowRun).where(FlowRun.customer_id == customer.id).order_by(FlowRun.id)
            )
        )


def _answers(db, run_id) -> dict:
    with db.read_session() as session:
        rows = session.scalars(select(FlowAnswer).where(FlowAnswer.run_id == run_id))
        return {row.step_key: row.value for row in rows}


def test_a_visit_survey_by_taps_and_typing_becomes_customer_data(db, survey, chat):
    [question] = chat.say("ｱﾝｹｰﾄ")  # half-width katakana: the same keyword
    assert question["text"] == "ご利用シーンは？"
    assert list(buttons(question)) == ["ランチ", "ディナー", "テイクアウト", "やめる"]

    [rating] = chat.tap(buttons(question)["ランチ"])
    assert rating["text"] == "満足度は？"
    assert list(buttons(rating)) == ["1", "2", "3", "4", "5", "やめる"]
    [nps] = chat.say("４")  # typed, full width
    assert list(buttons(nps))[:11] == [str(n) for n in range(11)]
    [comment] = chat.tap(buttons(nps)["9"])
    assert comment["text"] == "ご意見をお聞かせください"
    [thanks] = chat.say("パスタが美味しかったです")
    assert thanks["text"] == "ご回答ありがとうございました！"

    [run] = _runs(db, chat)
    assert run.status == RUN_COMPLETED and run.finished_at is not None
    assert _answers(db, run.id) == {
        "scene": "lunch",
        "rating": 4,
        "nps": 9,
        "comment": "パスタが美味しかったです",
    }
    customer = _customer(db, chat)
    with db.read_session() as session:
        assert [t.name for t in tags_of(session, customer.id)] == ["ランチ"]
        assert list(values_of(session, customer.id).values()) == ["ランチ"]
        conversation = session.scalars(
            select(Conversation).where(Conversation.customer_id == customer.id)
        ).one()
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "flow.answer")).all()
    assert conversation.awaiting_reply is False  # answers do not ask staff for a reply
    with db.read_session() as session:
        taps = session.scalars(
            select(Interaction.text).where(
                Interaction.customer_id == customer.id, Interaction.kind == "postback"
            )
        ).all()
    assert taps == ["ご利用シーンは？ → ランチ", "おすすめ度は？ → 9"]  # the timeline reads
    assert [a.detail["added_tags"] for a in audit] == [["ランチ"]]


def test_a_low_score_branches_tags_for_follow_up_and_asks_staff_to_reply(db, survey, chat):
    chat.say("アンケート")
    chat.say("2")  # ディナー, by its number
    [why] = chat.say("星1")
    assert why["text"] == "どの点が残念でしたか？"
    [thanks] = chat.say("待ち時間が長かった")
    assert thanks["text"].startswith("ご回答ありがとう")
    [run] = _runs(db, chat)
    assert _answers(db, run.id) == {"scene": "dinner", "rating": 1, "why": "待ち時間が長かった"}
    customer = _customer(db, chat)
    with db.read_session() as session:
        assert {t.name for t in tags_of(session, customer.id)} == {"ディナー", "要フォロー"}
        conversation = session.scalars(
            select(Conversation).where(Conversation.customer_id == customer.id)
        ).one()
    assert conversation.awaiting_reply is True


def test_an_unreadable_answer_is_asked_again_twice_then_skipped(db, survey, chat):
    chat.say("アンケート")
    for _ in range(2):
        sorry, again = chat.say("わかりません")
        assert sorry["text"].startswith("すみません")
        assert again["text"] == "ご利用シーンは？"
    [rating] = chat.say("わかりません")
    assert rating["text"] == "満足度は？"
    [run] = _runs(db, chat)
    assert _answers(db, run.id) == {"scene": None}


def test_cancel_and_resume_where_the_customer_left_off(db, survey, chat):
    chat.say("アンケート")
    chat.say("ランチ")
    [stopped] = chat.say("やめる")
    assert "再開" in stopped["text"]
    assert _runs(db, chat)[0].status == RUN_CANCELLED
    [ack] = chat.say("予約できますか")  # outside a run: the usual acknowledgement
    assert "受け付けました" in ack["text"]
    [again] = chat.say("再開")
    assert again["text"] == "満足度は？"
    chat.say("5")
    [run] = _runs(db, chat)
    assert run.status == RUN_IN_PROGRESS and run.step_key == "nps"
    assert _answers(db, run.id) == {"scene": "lunch", "rating": 5}


def test_old_and_double_taps_change_nothing(db, survey, chat):
    [question] = chat.say("アンケート")
    lunch = buttons(question)["ランチ"]
    chat.tap(lunch)
    [stale] = chat.tap(lunch)  # a double tap, or the old question's button later
    assert "今の質問のものではありません" in stale["text"]
    [stale] = chat.tap(buttons(question)["ディナー"])
    assert "今の質問" in stale["text"]
    chat.tap("action=flow&do=answer&run=999999&step=scene&v=lunch")  # not their run
    [run] = _runs(db, chat)
    assert _answers(db, run.id) == {"scene": "lunch"}
    assert run.step_key == "rating"


def test_multiple_choice_toggles_then_decides(db, chat):
    with db.transaction() as session:
        create_survey(
            session,
            "好み",
            [
                {
                    "key": "likes",
                    "text": "好きなものは？（複数可）",
                    "type": "multiple_choice",
                    "choices": [
                        {"label": "パスタ", "value": "pasta", "tags": ["パスタ好き"]},
                        {"label": "ピザ", "value": "pizza"},
                        {"label": "サラダ", "value": "salad"},
                    ],
                },
                {"key": "when", "text": "次のご来店予定日は？", "type": "date"},
            ],
            keyword="好み",
        )
    [card] = chat.say("好み")
    assert card["type"] == "flex"
    [nothing_yet] = chat.tap(buttons(card)["決定"])
    assert "1つ以上" in nothing_yet["text"]
    [card] = chat.tap(buttons(card)["☐ サラダ"])
    [card] = chat.tap(buttons(card)["☐ パスタ"])
    assert "☑ パスタ" in buttons(card) and "☑ サラダ" in buttons(card)
    [date_question] = chat.tap(buttons(card)["決定"])
    assert date_question["text"] == "次のご来店予定日は？"
    assert date_question["quickReply"]["items"][0]["action"]["type"] == "datetimepicker"
    chat.say("令和8年4月1日")
    [run] = _runs(db, chat)
    assert _answers(db, run.id) == {"likes": ["pasta", "salad"], "when": "2026-04-01"}
    with db.read_session() as session:
        assert [t.name for t in tags_of(session, _customer(db, chat).id)] == ["パスタ好き"]


def test_an_edit_mid_run_keeps_the_run_on_its_version(db, survey, chat):
    chat.say("アンケート")
    chat.say("ランチ")
    with db.transaction() as session:
        flow = session.get(Flow, survey)
        replace_steps(session, flow, [{"key": "only", "text": "新しい質問", "type": "text"}])
    [nps] = chat.say("5")
    assert nps["text"] == "おすすめ度は？"  # still the first version
    [first_run] = _runs(db, chat)
    with db.read_session() as session:
        assert session.get(FlowVersion, first_run.version_id).number == 1


def test_another_survey_by_keyword_replaces_the_run_and_staff_cannot_interrupt(db, survey, chat):
    with db.transaction() as session:
        create_survey(
            session, "一問", [{"key": "q", "text": "一言どうぞ", "type": "text"}], keyword="一言"
        )
    chat.say("アンケート")
    [other] = chat.say("一言")
    assert other["text"] == "一言どうぞ"
    first, second = _runs(db, chat)
    assert first.status == RUN_CANCELLED and second.status == RUN_IN_PROGRESS
    [thanks] = chat.say("一言")  # in a free-text question, the keyword is an answer
    assert thanks["text"].startswith("ご回答ありがとう")
    assert _answers(db, second.id) == {"q": "一言"}
    chat.say("アンケート")
    [asked_again] = chat.say("アンケート")  # its own keyword: the question again, no new run
    assert asked_again["text"] == "ご利用シーンは？"
    assert len(_runs(db, chat)) == 3

    with db.transaction() as session:  # staff sending another survey does not interrupt
        customer = session.get(Customer, _customer(db, chat).id)
        other_flow = session.scalars(select(Flow).where(Flow.name == "一問")).one()
        started = send_flow(session, customer, other_flow, utcnow(), load_texts(session), "staff")
    assert started == NotStarted("in_a_run")
    assert [run.status for run in _runs(db, chat)] == [
        RUN_CANCELLED,
        RUN_COMPLETED,
        RUN_IN_PROGRESS,
    ]


def test_blocking_mid_run_cancels_it_and_stickers_get_the_question_again(db, survey, chat):
    chat.say("アンケート")
    reminder, question = chat.send(
        lp.message(chat.user, {"type": "sticker", "packageId": "446", "stickerId": "1988"})
    )
    assert "アンケートの途中" in reminder["text"] and question["text"] == "ご利用シーンは？"
    chat.send(lp.unfollow(chat.user))
    [run] = _runs(db, chat)
    assert run.status == RUN_CANCELLED


def test_a_run_past_its_time_expires_and_the_text_goes_to_staff(db, survey, chat):
    chat.say("アンケート")
    with time_machine.travel(utcnow() + timedelta(hours=25), tick=False):
        [ack] = chat.say("ランチ")
    assert "受け付けました" in ack["text"]
    [run] = _runs(db, chat)
    assert run.status == "expired"


def test_a_survey_that_starts_on_follow_comes_after_the_greeting(db, post_events, work, line):
    with db.transaction() as session:
        create_survey(
            session,
            "はじめまして",
            [{"key": "name", "text": "お名前は？", "type": "text"}],
            on_follow=True,
        )
    user = sb.create_user(line, "新しい友だち")
    post_events(lp.follow(user))
    work()
    greeting, question = [m["message"] for m in sb.delivered(line, user)]
    assert greeting["type"] == "flex" and question["text"] == "お名前は？"


def test_a_quiet_run_gets_one_reminder_then_expires(db, chat, services, line):
    from scheduler.jobs import flow_upkeep

    with db.transaction() as session:
        create_survey(
            session,
            "リマインド",
            [{"key": "q", "text": "ご感想は？", "type": "text"}],
            keyword="感想",
            expire_hours=24,
            remind_after_hours=20,
        )
    chat.say("感想")
    start = utcnow()
    for hours, expected_status in (
        (19, RUN_IN_PROGRESS),
        (21, RUN_IN_PROGRESS),
        (22, RUN_IN_PROGRESS),
        (25, "expired"),
    ):
        with time_machine.travel(start + timedelta(hours=hours), tick=False):
            flow_upkeep(services)
            chat.work()
        [run] = _runs(db, chat)
        assert run.status == expected_status
    first, reminder, question = [m["message"]["text"] for m in sb.delivered(chat.line, chat.user)]
    assert first == question == "ご感想は？"  # asked, then asked again once with the reminder
    assert "回答の途中です" in reminder


def test_numbers_dates_by_the_picker_and_several_choices_by_typing(db, chat):
    with db.transaction() as session:
        create_survey(
            session,
            "予約",
            [
                {"key": "budget", "text": "ご予算は？", "type": "number", "min": 0, "max": 100000},
                {"key": "day", "text": "ご希望日は？", "type": "date"},
                {
                    "key": "menu",
                    "text": "気になるメニューは？",
                    "type": "multiple_choice",
                    "choices": [
                        {"label": "パスタ", "value": "pasta"},
                        {"label": "ピザ", "value": "pizza"},
                        {"label": "サラダ", "value": "salad"},
                    ],
                },
            ],
            keyword="予約",
        )
    chat.say("予約")
    [sorry, again] = chat.say("たくさん")
    assert "数字" in sorry["text"] and again["text"] == "ご予算は？"
    [day] = chat.say("12,000円")
    picker = day["quickReply"]["items"][0]["action"]
    [menu] = chat.tap(picker["data"], {"date": "2026-04-01"})  # LINE's date picker
    assert menu["type"] == "flex"
    [thanks] = chat.say("1と3")
    assert thanks["text"].startswith("ご回答ありがとう")
    [run] = _runs(db, chat)
    assert _answers(db, run.id) == {
        "budget": 12000,
        "day": "2026-04-01",
        "menu": ["pasta", "salad"],
    }


def test_standby_events_do_not_move_a_run(db, survey, chat):
    chat.say("アンケート")
    standby = lp.text(chat.user, "ランチ")
    standby["mode"] = "standby"
    assert chat.post_events(standby).status_code == 200
    chat.work()
    [run] = _runs(db, chat)
    assert run.step_key == "scene" and _answers(db, run.id) == {}
