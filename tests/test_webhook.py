"""POST /line/webhook: what gets in, what is refused, and that nothing valid is lost."""

import json

import pytest
from sqlalchemy import func, select

from crm.models import EVENT_DONE, EVENT_FAILED, EVENT_IGNORED, Customer, InboundEvent
from tests import line_payloads as lp
from tests.conftest import TEST_SECRET


def _stored(db):
    with db.read_session() as session:
        return list(session.scalars(select(InboundEvent).order_by(InboundEvent.id)))


def _post_raw(client, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-Line-Signature"] = signature
    return client.post("/line/webhook", data=body, headers=headers)


def test_valid_batch_is_stored_and_acknowledged(post_events, db):
    user = lp.new_user_id()
    response = post_events(lp.follow(user), lp.text(user, "こんにちは"))
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "received": 2}
    assert [e.event_type for e in _stored(db)] == ["follow", "message"]


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "not-base64!",
        lp.sign("0" * 32, b"{}"),
    ],
    ids=["missing", "empty", "garbage", "other-body"],
)
def test_bad_signature_is_400_and_stores_nothing(client, db, signature):
    body = lp.body_of(lp.follow(lp.new_user_id()))
    response = _post_raw(client, body, signature)
    assert response.status_code == 400
    assert response.get_json()["message"] == "invalid signature"
    assert _stored(db) == []


def test_signature_from_a_reissued_secret_is_refused(client, db):
    body = lp.body_of(lp.follow(lp.new_user_id()))
    old_secret = "00112233445566778899aabbccddeeff"
    assert _post_raw(client, body, lp.sign(old_secret, body)).status_code == 400
    assert _stored(db) == []


def test_body_changed_after_signing_is_refused(client, db):
    body = lp.body_of(lp.text(lp.new_user_id(), "払います 100 円"))
    signature = lp.sign(TEST_SECRET, body)
    tampered = body.replace(b"100", b"900")
    assert _post_raw(client, tampered, signature).status_code == 400
    assert _stored(db) == []


def test_reserialised_json_fails_the_signature(client, db):
    body = lp.body_of(lp.text(lp.new_user_id(), "順番"))
    signature = lp.sign(TEST_SECRET, body)
    reserialised = json.dumps(json.loads(body), indent=1).encode()
    assert _post_raw(client, reserialised, signature).status_code == 400


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe\x00", b"[]", b'{"events": {}}', b'"events"', b""],
    ids=["broken", "not-utf8", "array", "events-not-list", "string", "empty"],
)
def test_malformed_json_with_valid_signature_is_400(client, db, body):
    response = _post_raw(client, body, lp.sign(TEST_SECRET, body))
    assert response.status_code == 400
    assert _stored(db) == []


def test_oversized_body_is_413(client, db, settings):
    padding = "x" * settings.webhook_max_bytes
    body = lp.body_of(lp.text(lp.new_user_id(), padding))
    response = _post_raw(client, body, lp.sign(TEST_SECRET, body))
    assert response.status_code == 413
    assert _stored(db) == []


def test_empty_events_is_lines_connectivity_check(post_events, db):
    assert post_events().status_code == 200
    assert _stored(db) == []


def test_redelivered_and_duplicated_events_are_stored_once(post_events, db, services, line, work):
    user = lp.new_user_id()
    original = lp.text(user, "一度だけ")
    redelivered = {**original, "deliveryContext": {"isRedelivery": True}}
    assert post_events(original).status_code == 200
    assert post_events(original).status_code == 200
    assert post_events(redelivered, lp.text(user, "次")).status_code == 200
    stored = _stored(db)
    assert [e.webhook_event_id for e in stored].count(original["webhookEventId"]) == 1
    assert len(stored) == 2
    work()
    with db.read_session() as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 1


def test_mixed_batch_with_broken_events_keeps_every_valid_one(
    post_events, db, services, line, work
):
    alice, bob, carol = lp.new_user_id(), lp.new_user_id(), lp.new_user_id()
    broken_follow = lp.follow(bob)
    broken_follow["follow"] = "not-an-object"  # makes its handler raise
    batch = [
        lp.text(alice, "最初"),
        "not an event at all",
        {"type": "message"},  # no id, no source, no timestamp
        broken_follow,
        {**lp.event("things", carol), "things": {"deviceId": "t1", "type": "link"}},
        lp.text(carol, "standby", mode="standby"),
        lp.follow(carol),
    ]
    assert post_events(*batch).status_code == 200
    stored = _stored(db)
    assert len(stored) == len(batch)
    work()
    status = {e.webhook_event_id: e.status for e in _stored(db)}
    assert status[batch[0]["webhookEventId"]] == EVENT_DONE
    assert status[broken_follow["webhookEventId"]] == EVENT_FAILED
    assert status[batch[4]["webhookEventId"]] == EVENT_IGNORED
    assert status[batch[5]["webhookEventId"]] == EVENT_DONE
    assert status[batch[6]["webhookEventId"]] == EVENT_DONE
    things = next(e for e in _stored(db) if e.event_type == "things")
    assert things.payload["things"] == {"deviceId": "t1", "type": "link"}
    failed = next(e for e in _stored(db) if e.status == EVENT_FAILED)
    assert "AttributeError" in failed.last_error


def test_header_name_is_case_insensitive(client, db):
    body = lp.body_of(lp.follow(lp.new_user_id()))
    response = client.post(
        "/line/webhook",
        data=body,
        headers={
            "x-line-signature": lp.sign(TEST_SECRET, body),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200


def test_non_standard_json_numbers_are_kept_as_text_beside_valid_events(client, db, services, work):
    """Python's parser accepts NaN, Infinity and 1e999; PostgreSQL's JSONB refuses them."""
    user = lp.new_user_id()
    valid = lp.text(user, "ok")
    odd = {**lp.text(user, "odd"), "extra": [1.5]}
    body = lp.body_of(valid, odd).replace(b"1.5", b"1e999").replace(b"]}", b", NaN, -Infinity]}", 1)
    response = _post_raw(client, body, lp.sign(TEST_SECRET, body))
    assert response.status_code == 200
    work()
    stored = {e.webhook_event_id: e for e in _stored(db)}
    assert stored[valid["webhookEventId"]].status == EVENT_DONE
    assert stored[odd["webhookEventId"]].payload["extra"] == ["inf", "nan", "-inf"]
