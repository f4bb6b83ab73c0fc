"""Staff link their own LINE account with a one-time code sent to the bot; campaign test
sends then reach it."""

from datetime import timedelta

import time_machine

from bot.campaign_sending import send_test
from crm.clock import utcnow
from crm.models import Staff
from crm.staff_line import issue_link_code, linked_staff, looks_like_code
from tests import line_payloads as lp
from tests import sandbox_admin as sb


def _code(db, staff_id: int) -> str:
    with db.transaction() as session:
        return issue_link_code(session.get(Staff, staff_id), utcnow())


def _replies(line, user_id: str) -> list[str]:
    return [d["message"].get("text") for d in sb.delivered(line, user_id)]


def test_the_code_links_the_sender_once_and_test_sends_reach_them(
    db, line, make_staff, post_events, work, services
):
    staff = make_staff()
    user = sb.create_user(line, "店長のLINE")
    code = _code(db, staff.id)
    assert post_events(lp.text(user, f"  {code.lower()} ")).status_code == 200
    work()
    with db.read_session() as session:
        assert session.get(Staff, staff.id).line_user_id == user
        assert [s.id for s in linked_staff(session)] == [staff.id]
    assert "連携しました" in _replies(line, user)[-1]
    # The same code again: already used.
    post_events(lp.text(user, code))
    work()
    assert "無効か期限切れ" in _replies(line, user)[-1]
    outcome = send_test(
        services.line, user, [{"type": "text", "text": "{name}さん テスト"}], "店長"
    )
    assert outcome.result == "sent"
    assert _replies(line, user)[-1] == "店長さん テスト"


def test_an_expired_code_links_nobody(db, line, make_staff, post_events, work):
    staff = make_staff()
    user = sb.create_user(line, "客")
    code = _code(db, staff.id)
    with time_machine.travel(utcnow() + timedelta(minutes=11), tick=True):
        post_events(lp.text(user, code))
        work()
    with db.read_session() as session:
        assert session.get(Staff, staff.id).line_user_id is None
    assert "無効か期限切れ" in _replies(line, user)[-1]


def test_ordinary_messages_are_not_codes():
    assert looks_like_code("LINK-ABCD2345") == "LINK-ABCD2345"
    assert looks_like_code("ｌｉｎｋ－ａｂｃｄ２３４５") == "LINK-ABCD2345"
    for text in ("link", "LINK-ABC", "予約したいです LINK-ABCD2345", "12345678"):
        assert looks_like_code(text) is None
