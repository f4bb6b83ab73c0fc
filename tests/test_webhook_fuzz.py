"""Property: whatever signed body arrives, the webhook never answers 500 and never loses a
valid event, and every valid event ends up handled."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crm.models import EVENT_DONE, InboundEvent
from tests import line_payloads as lp
from tests.conftest import TEST_SECRET

FUZZ = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)

user_ids = st.builds(lp.new_user_id)
valid_events = st.one_of(
    st.builds(lp.text, user_ids, st.text(min_size=1, max_size=300)),
    st.builds(lp.follow, user_ids, st.booleans()),
    st.builds(lp.unfollow, user_ids),
    st.builds(lp.postback, user_ids, st.text(max_size=300)),
    st.builds(
        lambda u, pkg: lp.message(
            u,
            {
                "type": "sticker",
                "packageId": pkg,
                "stickerId": "1",
                "stickerResourceType": "STATIC",
            },
        ),
        user_ids,
        st.text(max_size=5),
    ),
)
# Known event types with fields of the wrong shape, and arbitrary junk.
mangled_events = st.builds(
    lambda event, key, value: {**event, key: value},
    valid_events,
    st.sampled_from(
        ["message", "source", "timestamp", "follow", "postback", "mode", "deliveryContext"]
    ),
    json_values,
)
junk = st.one_of(json_values, mangled_events)


@FUZZ
@given(batch=st.lists(st.tuples(st.booleans(), valid_events, junk), min_size=1, max_size=6))
def test_signed_batches_never_500_and_valid_events_are_kept_and_handled(
    post_events, services, db, batch, work
):
    events = [valid if keep_valid else other for keep_valid, valid, other in batch]
    wanted = {e["webhookEventId"] for keep_valid, e, _ in batch if keep_valid}
    response = post_events(*events)
    assert response.status_code == 200
    work()
    with db.read_session() as session:
        stored = {
            row.webhook_event_id: row.status
            for row in session.scalars(
                select(InboundEvent).where(InboundEvent.webhook_event_id.in_(wanted))
            )
        }
    assert set(stored) == wanted
    assert set(stored.values()) <= {EVENT_DONE}


@FUZZ
@given(body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_any_signed_body_gets_a_clear_answer(client, db, body):
    response = client.post(
        "/line/webhook",
        data=body,
        headers={
            "X-Line-Signature": lp.sign(TEST_SECRET, body),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code in (200, 400)
    assert "message" in response.get_json() or response.get_json()["status"] == "ok"
