"""The inbox's conversations: what needs a reply, replying through LINE, status, assignment."""

import re
import uuid
from datetime import timedelta

import time_machine
from sqlalchemy import select

from crm.business_hours import BusinessHours, save_business_hours
from crm.clock import utcnow
from crm.models import AuditEntry, Conversation, Customer, Interaction
from tests import line_payloads as lp
from tests import sandbox_admin as sb
from tests.conftest import csrf_from, sign_in


def _conversation(db, line_user_id) -> Conversation:
    with db.read_session() as session:
        return session.scalars(
            select(Conversation).join(Customer).where(Customer.line_user_id == line_user_id)
        ).one()


def _customer_writes(post_events, work, user, text):
    assert post_events(lp.text(user, text)).status_code == 200
    work()


def _reply(client, conversation_id, text, token=None, fetch=True):
    headers = {"X-Requested-With": "fetch"} if fetch else {}
    return client.post(
        f"/inbox/conversations/{conversation_id}/reply",
        data={"csrf_token": client.csrf, "text": text, "reply_token": token or str(uuid.uuid4())},
        headers=headers,
    )


def test_a_customer_message_lands_in_needs_reply_unread(
    admin_client, post_events, services, db, line, work
):
    user = sb.create_user(line, "山田花子")
    _customer_writes(post_events, work, user, "予約できますか？")
    conversation = _conversation(db, user)
    assert conversation.awaiting_reply and conversation.unread_count == 1
    assert conversation.last_preview == "予約できますか？"
    page = admin_client.get("/inbox/conversations?folder=needs_reply")
    assert "山田花子" in page.text and "予約できますか？" in page.text
    # Opening the chat marks it read, and the timeline shows the message and the bot's answer.
    chat = admin_client.get(f"/inbox/conversations/{conversation.id}")
    assert "予約できますか？" in chat.text and "受け付けました" in chat.text
    assert _conversation(db, user).unread_count == 0


def test_follow_creates_a_quiet_conversation_and_staff_reply_clears_needs_reply(
    admin_client, post_events, services, db, line, work
):
    user = sb.create_user(line, "Ken")
    post_events(lp.follow(user))
    work()
    conversation = _conversation(db, user)
    assert not conversation.awaiting_reply and conversation.unread_count == 0
    _customer_writes(post_events, work, user, "hello")
    assert (
        _reply(admin_client, conversation.id, "いらっしゃいませ\r\n二行目").status_code == 200
    )  # as browsers send
    work()
    texts = [m["message"].get("text") for m in sb.delivered(line, user)]
    assert "いらっしゃいませ\n二行目" in texts
    with db.read_session() as session:
        item = session.scalars(select(Interaction).where(Interaction.sender == "staff")).one()
    assert item.delivery_status == "sent" and item.delivery_method == "push"
    assert item.staff_id == admin_client.staff.id
    assert not _conversation(db, user).awaiting_reply
    assert (
        "needs_reply" not in admin_client.get("/inbox/conversations/list?folder=needs_reply").text
    )
    assert "Ken" not in admin_client.get("/inbox/conversations/list?folder=needs_reply").text


def test_a_double_submit_sends_once(admin_client, post_events, services, db, line, work):
    user = sb.create_user(line, "Double")
    _customer_writes(post_events, work, user, "hi")
    conversation = _conversation(db, user)
    token = str(uuid.uuid4())
    first = _reply(admin_client, conversation.id, "一度だけ", token)
    second = _reply(admin_client, conversation.id, "一度だけ", token)
    assert first.status_code == second.status_code == 200
    assert first.get_json()["id"] == second.get_json()["id"]
    work()
    delivered = [m["message"].get("text") for m in sb.delivered(line, user)]
    assert delivered.count("一度だけ") == 1


def test_bad_replies_are_refused_with_a_reason(admin_client, post_events, services, db, line, work):
    user = sb.create_user(line, "Limits")
    _customer_writes(post_events, work, user, "hi")
    conversation = _conversation(db, user)
    empty = _reply(admin_client, conversation.id, "   ")
    assert empty.status_code == 422 and "メッセージを入力してください" in empty.get_json()["error"]
    too_long = _reply(admin_client, conversation.id, "😀" * 2501)  # 5,002 UTF-16 units
    assert too_long.status_code == 422 and "5,000" in too_long.get_json()["error"]
    bad_token = _reply(admin_client, conversation.id, "x", token="not-a-uuid")
    assert bad_token.status_code == 422
    post_events(lp.unfollow(user))
    work()
    blocked = _reply(admin_client, conversation.id, "届かない")
    assert blocked.status_code == 422 and "ブロック" in blocked.get_json()["error"]
    with db.read_session() as session:
        assert session.scalars(select(Interaction).where(Interaction.sender == "staff")).all() == []


def test_line_refusal_shows_as_failed_and_can_be_sent_again(
    admin_client, post_events, services, db, line, work
):
    user = sb.create_user(line, "Retry")
    _customer_writes(post_events, work, user, "hi")
    conversation = _conversation(db, user)
    sb.add_fault(line, endpoint="push", status=400, count=1, body={"message": "Bad things"})
    _reply(admin_client, conversation.id, "再送テスト")
    work()
    with db.read_session() as session:
        item = session.scalars(select(Interaction).where(Interaction.sender == "staff")).one()
    assert item.delivery_status == "failed" and item.error_message == "Bad things"
    timeline = admin_client.get(
        f"/inbox/conversations/{conversation.id}/timeline?from_id={item.id}"
    )
    assert (
        "送信失敗" in timeline.text
        and "Bad things" in timeline.text
        and "再送する" in timeline.text
    )
    response = admin_client.post(
        f"/inbox/conversations/messages/{item.id}/retry",
        data={"csrf_token": admin_client.csrf},
        headers={"X-Requested-With": "fetch"},
    )
    assert response.status_code == 204
    work()
    delivered = [m["message"].get("text") for m in sb.delivered(line, user)]
    assert delivered.count("再送テスト") == 1
    with db.read_session() as session:
        assert session.get(Interaction, item.id).delivery_status == "sent"


def test_line_429_keeps_the_reply_pending_then_sends_it(
    admin_client, post_events, services, db, line, work
):
    user = sb.create_user(line, "Busy")
    _customer_writes(post_events, work, user, "hi")
    conversation = _conversation(db, user)
    sb.add_fault(line, endpoint="push", status=429, count=3)
    _reply(admin_client, conversation.id, "混雑中")
    work()
    with db.read_session() as session:
        item = session.scalars(select(Interaction).where(Interaction.sender == "staff")).one()
    assert item.delivery_status == "pending"
    page = admin_client.get(f"/inbox/conversations/{conversation.id}/timeline?from_id={item.id}")
    assert "送信中" in page.text
    work.over(60)  # three more refusals, each retried after a short back-off
    assert [m["message"].get("text") for m in sb.delivered(line, user)].count("混雑中") == 1


def test_a_resolved_chat_reopens_when_the_customer_writes(
    admin_client, post_events, services, db, line, work
):
    user = sb.create_user(line, "Again")
    _customer_writes(post_events, work, user, "one")
    conversation = _conversation(db, user)
    admin_client.post(
        f"/inbox/conversations/{conversation.id}/status",
        data={"csrf_token": admin_client.csrf, "status": "resolved"},
    )
    resolved = _conversation(db, user)
    assert resolved.status == "resolved" and not resolved.awaiting_reply
    assert "Again" in admin_client.get("/inbox/conversations/list?folder=resolved").text
    _customer_writes(post_events, work, user, "two")
    reopened = _conversation(db, user)
    assert reopened.status == "open" and reopened.awaiting_reply


def test_assignment_folders_and_audit(client, make_staff, post_events, services, db, line, work):
    admin = make_staff()
    clerk = make_staff("clerk@shop.example", "agent", "佐藤")
    user = sb.create_user(line, "Assigned")
    _customer_writes(post_events, work, user, "hi")
    conversation = _conversation(db, user)
    sign_in(client, clerk.email)
    token = csrf_from(client.get("/inbox/conversations").text)
    assert "Assigned" in client.get("/inbox/conversations/list?folder=unassigned").text
    client.post(
        f"/inbox/conversations/{conversation.id}/assign",
        data={"csrf_token": token, "assignee_id": str(clerk.id)},
    )
    assert "Assigned" in client.get("/inbox/conversations/list?folder=mine").text
    assert "Assigned" not in client.get("/inbox/conversations/list?folder=unassigned").text
    bad = client.post(
        f"/inbox/conversations/{conversation.id}/status",
        data={"csrf_token": token, "status": "deleted"},
    )
    assert bad.status_code == 400
    with db.read_session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "conversation.assign")
        ).one()
    assert entry.staff_id == clerk.id and entry.detail == {"assignee": clerk.id}
    assert admin.id != clerk.id


def test_list_pages_with_a_keyset_cursor(admin_client, db):
    now = utcnow()
    with db.transaction() as session:
        for number in range(57):
            customer = Customer(line_user_id=f"U{number:032x}", display_name=f"客{number:02d}")
            session.add(customer)
            session.flush()
            session.add(
                Conversation(
                    customer_id=customer.id,
                    last_message_at=now - timedelta(minutes=number),
                    awaiting_reply=True,
                    unread_count=1,
                )
            )
    first = admin_client.get("/inbox/conversations?folder=all")
    names_first = re.findall(r"客\d\d", first.text)
    cursor = re.search(r'cursor=([^"&]+)', first.text).group(1)
    second = admin_client.get(f"/inbox/conversations?folder=all&cursor={cursor}")
    names_second = re.findall(r"客\d\d", second.text)
    assert len(set(names_first)) == 50 and len(set(names_second)) == 7
    assert not set(names_first) & set(names_second)
    assert names_first[0] == "客00"  # newest first


def test_search_takes_wildcards_literally(admin_client, db):
    now = utcnow()
    with db.transaction() as session:
        for name in ("100%天然", "1000円", "山田"):
            customer = Customer(line_user_id=f"U{abs(hash(name)):032x}"[:33], display_name=name)
            session.add(customer)
            session.flush()
            session.add(Conversation(customer_id=customer.id, last_message_at=now))
    page = admin_client.get("/inbox/conversations/list?folder=all&q=100%25").text
    assert "100%天然" in page and "1000円" not in page and "山田" not in page


def test_timeline_poll_returns_new_items_only(admin_client, post_events, services, db, line, work):
    user = sb.create_user(line, "Poll")
    _customer_writes(post_events, work, user, "first")
    conversation = _conversation(db, user)
    with db.read_session() as session:
        last_id = max(session.scalars(select(Interaction.id)).all())
    _customer_writes(post_events, work, user, "second")
    poll = admin_client.get(
        f"/inbox/conversations/{conversation.id}/timeline?from_id={last_id + 1}"
    )
    assert "second" in poll.text and "first" not in poll.text


def test_away_message_outside_business_hours_once_a_day(post_events, services, db, line, work):
    with db.transaction() as session:
        save_business_hours(
            session, BusinessHours(enabled=True, weekly={}, away_message="本日の営業は終了しました")
        )
    user = sb.create_user(line, "Night")
    _customer_writes(post_events, work, user, "まだやってますか")
    _customer_writes(post_events, work, user, "もしもし")
    texts = [m["message"].get("text") for m in sb.delivered(line, user)]
    assert texts.count("本日の営業は終了しました") == 1
    assert not any("受け付けました" in (t or "") for t in texts)
    with time_machine.travel(utcnow() + timedelta(days=1)):
        _customer_writes(post_events, work, user, "翌日です")
    texts = [m["message"].get("text") for m in sb.delivered(line, user)]
    assert texts.count("本日の営業は終了しました") == 2


def test_display_names_and_messages_are_escaped(
    admin_client, post_events, services, db, line, work
):
    evil = "<img src=x onerror=alert(1)>"
    user = sb.create_user(line, evil)
    _customer_writes(
        post_events, work, user, "<script>alert(2)</script> https://example.com/?a=1&b=2"
    )
    conversation = _conversation(db, user)
    for path in (
        "/inbox/conversations?folder=all",
        f"/inbox/conversations/{conversation.id}",
        f"/inbox/customers/{conversation.customer_id}",
        "/inbox/customers",
    ):
        html = admin_client.get(path).text
        assert evil not in html and "<script>alert(2)" not in html, path
    chat = admin_client.get(f"/inbox/conversations/{conversation.id}").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in chat
    assert '<a href="https://example.com/?a=1&amp;b=2"' in chat


def _photo_chat(admin_client, post_events, work, db, line, photo: bytes):
    import base64

    user = sb.create_user(line, "写真")
    event = sb.user_event(
        line,
        user,
        "events",
        type="image",
        content_base64=base64.b64encode(photo).decode(),
        content_type="image/jpeg",
    )["event"]
    post_events(event)
    work()
    with db.read_session() as session:
        item = session.scalars(select(Interaction).where(Interaction.kind == "image")).one()
    return _conversation(db, user), item


def test_photos_come_from_line_with_a_placeholder_when_gone(
    admin_client, post_events, services, db, line, work
):
    photo = b"\xff\xd8\xff\xe0 a small jpeg"
    conversation, item = _photo_chat(admin_client, post_events, work, db, line, photo)
    chat = admin_client.get(f"/inbox/conversations/{conversation.id}").text
    media_url = f"/inbox/customers/media/{item.id}"
    assert f'src="{media_url}"' in chat
    response = admin_client.get(media_url)
    assert response.status_code == 200 and response.data == photo
    assert response.mimetype == "image/jpeg"
    line.state.content.clear()  # LINE deletes content after a while
    gone = admin_client.get(media_url)
    assert gone.status_code == 302 and gone.location.endswith("media-unavailable.svg")
    with admin_client.get(gone.location) as placeholder:
        assert placeholder.status_code == 200 and placeholder.mimetype == "image/svg+xml"
    sb.configure(line, content_prepare_seconds=60)
    assert admin_client.get(media_url).status_code == 302  # still preparing: placeholder too
