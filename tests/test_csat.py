"""Satisfaction after an inquiry: resolving a chat asks for a score; a low score reopens it."""

from sqlalchemy import select

from crm.clock import utcnow
from crm.csat import scores_by_staff
from crm.models import Conversation, Customer, FlowRun, Note
from tests import line_payloads as lp
from tests import sandbox_admin as sb


def _enable(admin_client, quiet_days="30"):
    answer = admin_client.post(
        "/inbox/settings/csat",
        data={
            "csrf_token": admin_client.csrf,
            "enabled": "1",
            "quiet_days": quiet_days,
            "question": "今回の対応はいかがでしたか？",
        },
    )
    assert answer.status_code == 302


def _conversation(db, user) -> Conversation:
    with db.read_session() as session:
        customer = session.scalars(select(Customer).where(Customer.line_user_id == user)).one()
        return session.scalars(
            select(Conversation).where(Conversation.customer_id == customer.id)
        ).one()


def _resolve(admin_client, conversation_id):
    return admin_client.post(
        f"/inbox/conversations/{conversation_id}/status",
        data={"csrf_token": admin_client.csrf, "status": "resolved"},
    )


def test_a_low_score_after_resolving_reopens_the_chat_with_a_note(
    admin_client, db, line, post_events, work
):
    _enable(admin_client)
    user = sb.create_user(line, "問い合わせ客")
    post_events(lp.text(user, "予約の変更はできますか"))
    work()
    conversation = _conversation(db, user)
    assert _resolve(admin_client, conversation.id).status_code == 302
    work()
    question = sb.delivered(line, user)[-1]
    assert (
        question["via"] == "push" and question["message"]["text"] == "今回の対応はいかがでしたか？"
    )
    data = {
        i["action"]["label"]: i["action"]["data"]
        for i in question["message"]["quickReply"]["items"]
    }
    post_events(lp.postback(user, data["1"]))
    work()

    conversation = _conversation(db, user)
    assert (conversation.status, conversation.awaiting_reply) == ("open", True)
    with db.read_session() as session:
        [note] = session.scalars(select(Note)).all()
        [run] = session.scalars(select(FlowRun)).all()
        scores = scores_by_staff(session, utcnow().replace(year=2000))
    assert "今回の対応はいかがでしたか？ → 1" in note.body
    assert (run.conversation_id, run.staff_id) == (conversation.id, admin_client.staff.id)
    assert [(s.name, s.answers, s.mean) for s in scores] == [("店長", 1, 1.0)]

    # Resolved again within the quiet days: not asked again.
    _resolve(admin_client, conversation.id)
    work()
    with db.read_session() as session:
        assert len(session.scalars(select(FlowRun)).all()) == 1


def test_no_question_when_the_shop_does_not_ask(admin_client, db, line, post_events, work):
    user = sb.create_user(line, "客")
    post_events(lp.text(user, "こんにちは"))
    work()
    _resolve(admin_client, _conversation(db, user).id)
    work()
    with db.read_session() as session:
        assert session.scalars(select(FlowRun)).all() == []


def test_csat_settings_are_checked(admin_client):
    refused = admin_client.post(
        "/inbox/settings/csat",
        data={
            "csrf_token": admin_client.csrf,
            "enabled": "1",
            "quiet_days": "999",
            "question": "x",
        },
        follow_redirects=True,
    )
    assert "0〜365" in refused.text or "0 to 365" in refused.text
