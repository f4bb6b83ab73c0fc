"""What the bot does with each event: customers, interactions, replies, profiles."""

import threading

import pytest
from sqlalchemy import func, select

from crm.clock import utcnow
from crm.customers import get_or_register_customer
from crm.models import (
    BLOCKED,
    DELIVERY_SENT,
    FOLLOWING,
    PROFILE_OK,
    UNKNOWN,
    Customer,
    Interaction,
)
from tests import line_payloads as lp
from tests import sandbox_admin as sb


def _customer(db, line_user_id):
    with db.read_session() as session:
        return session.scalars(select(Customer).where(Customer.line_user_id == line_user_id)).one()


def _timeline(db, line_user_id):
    with db.read_session() as session:
        customer = session.scalars(
            select(Customer).where(Customer.line_user_id == line_user_id)
        ).one()
        statement = (
            select(Interaction)
            .where(Interaction.customer_id == customer.id)
            .order_by(Interaction.id)
        )
        return list(session.scalars(statement))


def test_follow_registers_customer_greets_and_fetches_profile(
    post_events, services, db, line, work
):
    user = sb.create_user(line, "山田 花子", language="ja", status_message="よろしく")
    post_events(lp.follow(user))
    work()

    customer = _customer(db, user)
    assert customer.follow_status == FOLLOWING
    assert customer.follow_count == 1
    assert customer.last_follow_was_unblock is False
    assert customer.display_name == "山田 花子"
    assert customer.language == "ja"
    assert customer.status_message == "よろしく"
    assert customer.profile_status == PROFILE_OK
    inbound, outbound = _timeline(db, user)
    assert (inbound.direction, inbound.kind) == ("in", "follow")
    assert (outbound.direction, outbound.kind, outbound.sender) == ("out", "flex", "bot")
    assert outbound.delivery_status == DELIVERY_SENT
    [received] = sb.delivered(line, user)
    assert received["message"]["type"] == "flex"
    assert received["message"]["altText"] == "友だち追加ありがとうございます！"


def test_block_keeps_history_and_refollow_reactivates(post_events, services, db, line, work):
    user = sb.create_user(line, "Ken")
    post_events(lp.follow(user))
    post_events(lp.text(user, "hello"))
    work()
    post_events(lp.unfollow(user))
    work()
    blocked = _customer(db, user)
    assert blocked.follow_status == BLOCKED
    assert blocked.blocked_at is not None

    post_events(lp.follow(user, is_unblocked=True))
    work()
    back = _customer(db, user)
    assert back.id == blocked.id
    assert back.follow_status == FOLLOWING
    assert back.follow_count == 2
    assert back.last_follow_was_unblock is True
    kinds = [i.kind for i in _timeline(db, user) if i.direction == "in"]
    assert kinds == ["follow", "text", "unfollow", "follow"]


def test_friend_from_before_the_bot_is_registered_on_first_message(
    post_events, services, db, line, work
):
    user = sb.create_user(line, "古い友だち")
    post_events(lp.text(user, "営業時間は？"))
    work()
    customer = _customer(db, user)
    assert customer.follow_status == UNKNOWN
    assert customer.display_name == "古い友だち"
    assert customer.first_contact_at is not None


MESSAGE_KINDS = [
    (
        {
            "type": "text",
            "text": "こんにちは😀",
            "emojis": [
                {"index": 5, "length": 2, "productId": "5ac1bfd5040ab15980c9b435", "emojiId": "001"}
            ],
        },
        "text",
        "こんにちは😀",
    ),
    (
        {
            "type": "sticker",
            "packageId": "446",
            "stickerId": "1988",
            "stickerResourceType": "STATIC",
            "keywords": ["Happy"],
        },
        "sticker",
        None,
    ),
    ({"type": "image", "contentProvider": {"type": "line"}}, "image", None),
    ({"type": "video", "duration": 6000, "contentProvider": {"type": "line"}}, "video", None),
    ({"type": "audio", "duration": 3000, "contentProvider": {"type": "line"}}, "audio", None),
    ({"type": "file", "fileName": "見積書.pdf", "fileSize": 2048}, "file", "見積書.pdf"),
    (
        {
            "type": "location",
            "title": "東京タワー",
            "address": "東京都港区芝公園4-2-8",
            "latitude": 35.65858,
            "longitude": 139.745433,
        },
        "location",
        "東京タワー 東京都港区芝公園4-2-8",
    ),
]


@pytest.mark.parametrize(
    ("content", "kind", "text"), MESSAGE_KINDS, ids=[k[1] for k in MESSAGE_KINDS]
)
def test_every_message_kind_becomes_an_interaction(
    post_events, services, db, line, content, kind, text, work
):
    user = sb.create_user(line, "Aki")
    event = lp.message(user, content)
    post_events(event)
    work()
    [inbound] = [i for i in _timeline(db, user) if i.direction == "in"]
    assert inbound.kind == kind
    assert inbound.text == text
    assert inbound.line_message_id == event["message"]["id"]
    assert inbound.source_event_id == event["webhookEventId"]
    for key, value in content.items():
        assert inbound.payload[key] == value


def test_postback_keeps_data_and_params(post_events, services, db, line, work):
    user = sb.create_user(line, "Rin")
    post_events(lp.postback(user, "action=reserve&slot=3", {"datetime": "2026-12-01T18:00"}))
    work()
    [inbound] = _timeline(db, user)
    assert inbound.kind == "postback"
    assert inbound.payload == {
        "data": "action=reserve&slot=3",
        "params": {"datetime": "2026-12-01T18:00"},
    }


def test_unsend_hides_the_message_but_keeps_the_record(
    post_events, services, db, line, client, work
):
    user = sb.create_user(line, "Mio")
    said = lp.text(user, "間違えました")
    post_events(said)
    work()
    post_events(lp.unsend(user, said["message"]["id"]))
    work()
    inbound = [i for i in _timeline(db, user) if i.direction == "in"]
    assert [i.kind for i in inbound] == ["text", "unsend"]
    assert inbound[0].unsent_at is not None
    assert inbound[0].text == "間違えました"  # kept for the record; hidden by the API


@pytest.mark.parametrize("word", ["ヘルプ", "help", "HELP", "ＨＥＬＰ", " ヘルプ "])
def test_help_lists_what_the_bot_can_do(post_events, services, db, line, word, work):
    user = sb.create_user(line, "Yuu")
    post_events(lp.text(user, word))
    work()
    [received] = sb.delivered(line, user)
    assert "このアカウントでできること" in received["message"]["text"]


def test_unhandled_text_is_acknowledged_once_per_half_hour(post_events, services, db, line, work):
    user = sb.create_user(line, "Sora")
    post_events(lp.text(user, "予約したいです"))
    post_events(lp.text(user, "明日の夜です"))
    work()
    received = sb.delivered(line, user)
    assert len(received) == 1
    assert "受け付けました" in received[0]["message"]["text"]


def test_bot_texts_are_configurable(post_events, services, db, line, work):
    from crm.bot_texts import set_text

    with db.transaction() as session:
        set_text(session, "ack", "ありがとう！すぐ確認します")
    user = sb.create_user(line, "Hana")
    post_events(lp.text(user, "質問"))
    work()
    assert sb.delivered(line, user)[0]["message"]["text"] == "ありがとう！すぐ確認します"


def test_standby_events_are_recorded_but_never_answered(post_events, services, db, line, work):
    user = sb.create_user(line, "Standby")
    post_events(lp.follow(user, mode="standby"), lp.text(user, "hi", mode="standby"))
    work()
    assert [i.kind for i in _timeline(db, user)] == ["follow", "text"]
    assert sb.delivered(line, user) == []


def test_one_customers_events_are_handled_in_timestamp_order(post_events, services, db, line, work):
    user = sb.create_user(line, "Order")
    base = lp.now_ms()
    later = lp.text(user, "second", timestamp=base + 2000)
    earlier = lp.text(user, "first", timestamp=base + 1000)
    post_events(later)
    post_events(earlier)
    work()
    texts = [i.text for i in _timeline(db, user) if i.direction == "in"]
    assert texts == ["first", "second"]


def test_group_events_are_stored_but_not_made_customers(post_events, services, db, line, work):
    group_event = lp.text(lp.new_user_id(), "group hello")
    group_event["source"] = {"type": "group", "groupId": "C" + "1" * 32, "userId": lp.new_user_id()}
    post_events(group_event)
    work()
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 0


def test_simultaneous_first_events_make_exactly_one_customer(db):
    line_user_id = lp.new_user_id()
    barrier = threading.Barrier(6)
    errors = []

    def register():
        try:
            barrier.wait()
            with db.transaction() as session:
                get_or_register_customer(session, line_user_id, utcnow())
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=register) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read_session() as session:
        count = session.scalar(
            select(func.count()).select_from(Customer).where(Customer.line_user_id == line_user_id)
        )
    assert count == 1


def test_a_handler_that_raises_fails_only_its_event(
    post_events, services, db, line, monkeypatch, work
):
    from bot.handlers import EVENT_HANDLERS
    from crm.models import EVENT_DONE, EVENT_FAILED, InboundEvent

    def broken(turn):
        raise RuntimeError("handler bug")

    monkeypatch.setitem(EVENT_HANDLERS, "postback", broken)
    same, other = sb.create_user(line, "Same"), sb.create_user(line, "Other")
    base = lp.now_ms()
    post_events(
        lp.text(same, "before", timestamp=base),
        lp.postback(same, "action=anything", timestamp=base + 1),
        lp.text(same, "after", timestamp=base + 2),
        lp.text(other, "help", timestamp=base + 3),
    )
    work()
    with db.read_session() as session:
        events = {e.event_type: e for e in session.scalars(select(InboundEvent))}
        statuses = sorted(e.status for e in session.scalars(select(InboundEvent)))
    assert statuses == [EVENT_DONE, EVENT_DONE, EVENT_DONE, EVENT_FAILED]
    assert "RuntimeError: handler bug" in events["postback"].last_error
    assert [i.text for i in _timeline(db, same) if i.direction == "in"] == ["before", "after"]
    assert len(sb.delivered(line, same)) == 1  # the acknowledgement of "before"
    assert len(sb.delivered(line, other)) == 1


def test_many_customers_events_share_few_write_transactions(post_events, services, db, line, work):
    from sqlalchemy import event

    users = [sb.create_user(line, f"客{n}") for n in range(20)]
    for user in users:
        post_events(lp.text(user, "help"))
    commits = []
    event.listen(services.db.engine, "commit", lambda conn: commits.append(1))
    work()
    assert all(len(sb.delivered(line, user)) == 1 for user in users)
    with db.read_session() as session:
        sent = session.scalar(
            select(func.count())
            .select_from(Interaction)
            .where(Interaction.delivery_status == DELIVERY_SENT)
        )
    assert sent == 20
    # Four write transactions per event (lane, event, outcome, release) would be 80. One round
    # handles all 20 customers; its replies and profile fetches are claimed and recorded in
    # two transactions each.
    assert len(commits) <= 8


def test_shop_settings_are_read_once_per_batch_not_per_event(post_events, services, db, line, work):
    """A shop that never saved its texts or hours must not pay a query per event for them."""
    from sqlalchemy import event as sa_event

    users = [lp.new_user_id() for _ in range(4)]
    post_events(*[lp.text(user, "こんにちは") for user in users])
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if "FROM shop_settings" in statement:
            statements.append(statement)

    sa_event.listen(services.db.engine, "before_cursor_execute", count)
    try:
        work()
    finally:
        sa_event.remove(services.db.engine, "before_cursor_execute", count)
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 4
    # Bot texts, business hours, FAQ settings and inquiry routing, once for the batch (per
    # event it would be 16).
    assert 0 < len(statements) <= 4
