"""The LINE sandbox answers the real SDK the way LINE does."""

import base64
import hashlib
import hmac
import json
import threading
import uuid

import pytest
import requests
import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    TextMessage,
)
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sandbox.rate_limits import RATE_LIMITED, RateLimiter
from tests import sandbox_admin as sb
from tests.conftest import TEST_SECRET, TEST_TOKEN, wait_until

TEXT = [{"type": "text", "text": "x"}]


@pytest.fixture
def api(line):
    client = ApiClient(Configuration(host=line.url, access_token=TEST_TOKEN))
    yield MessagingApi(client)
    client.close()


@pytest.fixture
def blob(line):
    client = ApiClient(Configuration(host=line.url, access_token=TEST_TOKEN))
    yield MessagingApiBlob(client)
    client.close()


def _raw_push(line, body, token=TEST_TOKEN, **headers):
    return _raw_send(line, "push", body, token, **headers)


def _raw_multicast(line, body, **headers):
    return _raw_send(line, "multicast", body, TEST_TOKEN, **headers)


def _raw_send(line, api, body, token, **headers):
    return requests.post(
        f"{line.url}/v2/bot/message/{api}",
        json=body,
        headers={"Authorization": f"Bearer {token}", **headers},
        timeout=5,
    )


def _usage(line) -> int:
    return line.state.usage


def test_wrong_token_is_401(line):
    user = sb.create_user(line, "A")
    response = _raw_push(
        line, {"to": user, "messages": [{"type": "text", "text": "x"}]}, token="nope"
    )
    assert response.status_code == 401
    assert "Authentication failed" in response.json()["message"]
    assert response.headers["X-Line-Request-Id"]


def test_push_is_delivered_and_recorded(api, line):
    user = sb.create_user(line, "B")
    key = str(uuid.uuid4())
    response = api.push_message_with_http_info(
        PushMessageRequest(to=user, messages=[TextMessage(text="こんにちは")]), x_line_retry_key=key
    )
    assert response.status_code == 200
    assert len(response.data.sent_messages) == 1
    [received] = sb.delivered(line, user)
    assert received["message"] == {"type": "text", "text": "こんにちは"}
    assert (received["via"], received["retry_key"]) == ("push", key)


def test_text_length_counts_utf16_units(line):
    user = sb.create_user(line, "C")
    ok = _raw_push(line, {"to": user, "messages": [{"type": "text", "text": "😀" * 2500}]})
    assert ok.status_code == 200
    too_long = _raw_push(line, {"to": user, "messages": [{"type": "text", "text": "😀" * 2501}]})
    assert too_long.status_code == 400
    assert too_long.json()["details"] == [
        {"message": "Length must be between 0 and 5000", "property": "messages[0].text"}
    ]


def test_more_than_five_messages_is_400(line):
    user = sb.create_user(line, "D")
    response = _raw_push(line, {"to": user, "messages": [{"type": "text", "text": "x"}] * 6})
    assert response.status_code == 400
    assert response.json()["details"][0]["property"] == "messages"


@pytest.mark.parametrize(
    ("message", "prop"),
    [
        ({"type": "flex", "contents": {"type": "bubble"}}, "messages[0].altText"),
        (
            {"type": "flex", "altText": "a" * 401, "contents": {"type": "bubble"}},
            "messages[0].altText",
        ),
        (
            {
                "type": "text",
                "text": "q",
                "quickReply": {
                    "items": [{"type": "action", "action": {"type": "postback", "data": "d" * 301}}]
                },
            },
            "messages[0].quickReply.items[0].action.data",
        ),
        (
            {
                "type": "text",
                "text": "q",
                "quickReply": {
                    "items": [
                        {"type": "action", "action": {"type": "message", "label": "l", "text": "t"}}
                    ]
                    * 14
                },
            },
            "messages[0].quickReply.items",
        ),
        (
            {
                "type": "image",
                "originalContentUrl": "http://x/a.png",
                "previewImageUrl": "https://x/b.png",
            },
            "messages[0].originalContentUrl",
        ),
    ],
)
def test_message_objects_are_validated_like_line(line, message, prop):
    user = sb.create_user(line, "E")
    response = _raw_push(line, {"to": user, "messages": [message]})
    assert response.status_code == 400
    assert prop in [d["property"] for d in response.json()["details"]]
    assert sb.delivered(line, user) == []


def test_reply_token_is_single_use(api, line):
    user = sb.create_user(line, "F")
    token = line.state.issue_reply_token(user)
    api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="1")]))
    with pytest.raises(ApiException) as error:
        api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="2")]))
    assert error.value.status == 400
    assert json.loads(error.value.body)["message"] == "Invalid reply token"
    assert [m["message"]["text"] for m in sb.delivered(line, user)] == ["1"]


def test_reply_token_expires(api, line):
    user = sb.create_user(line, "G")
    sb.configure(line, reply_token_ttl=0)
    token = line.state.issue_reply_token(user)
    with pytest.raises(ApiException) as error:
        api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="x")]))
    assert error.value.status == 400


def test_retry_key_is_accepted_once(api, line):
    user = sb.create_user(line, "H")
    key = str(uuid.uuid4())
    first = api.push_message_with_http_info(
        PushMessageRequest(to=user, messages=[TextMessage(text="once")]), x_line_retry_key=key
    )
    with pytest.raises(ApiException) as error:
        api.push_message(
            PushMessageRequest(to=user, messages=[TextMessage(text="once")]), x_line_retry_key=key
        )
    assert error.value.status == 409
    assert error.value.headers["X-Line-Accepted-Request-Id"] == first.headers["X-Line-Request-Id"]
    assert json.loads(error.value.body)["sentMessages"]
    assert len(sb.delivered(line, user)) == 1


def test_failed_request_does_not_spend_the_retry_key(line):
    user = sb.create_user(line, "I")
    key = str(uuid.uuid4())
    sb.add_fault(line, endpoint="push", status=500, count=1)
    body = {"to": user, "messages": [{"type": "text", "text": "x"}]}
    assert _raw_push(line, body, **{"X-Line-Retry-Key": key}).status_code == 500
    assert _raw_push(line, body, **{"X-Line-Retry-Key": key}).status_code == 200
    assert len(sb.delivered(line, user)) == 1


def test_retry_key_must_be_a_uuid_and_is_refused_on_reply(line):
    user = sb.create_user(line, "J")
    body = {"to": user, "messages": [{"type": "text", "text": "x"}]}
    assert _raw_push(line, body, **{"X-Line-Retry-Key": "not-a-uuid"}).status_code == 400
    reply = requests.post(
        f"{line.url}/v2/bot/message/reply",
        json={"replyToken": line.state.issue_reply_token(user), "messages": body["messages"]},
        headers={"Authorization": f"Bearer {TEST_TOKEN}", "X-Line-Retry-Key": str(uuid.uuid4())},
        timeout=5,
    )
    assert reply.status_code == 400


def test_blocked_user_gets_nothing_and_has_no_profile(api, line):
    user = sb.create_user(line, "K")
    sb.user_event(line, user, "unfollow")
    api.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="x")]))
    assert sb.delivered(line, user) == []
    with pytest.raises(ApiException) as error:
        api.get_profile(user)
    assert error.value.status == 404


def test_multicast_limits_and_delivery(api, line):
    users = [sb.create_user(line, f"M{n}") for n in range(3)]
    api.multicast(MulticastRequest(to=users, messages=[TextMessage(text="みなさんへ")]))
    assert all(len(sb.delivered(line, u)) == 1 for u in users)
    response = requests.post(
        f"{line.url}/v2/bot/message/multicast",
        json={"to": users * 167, "messages": [{"type": "text", "text": "x"}]},
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
        timeout=5,
    )
    assert response.status_code == 400


def test_faults_count_down_then_succeed(api, line):
    user = sb.create_user(line, "L")
    sb.add_fault(line, endpoint="push", status=429, count=2)
    request = PushMessageRequest(to=user, messages=[TextMessage(text="x")])
    for _ in range(2):
        with pytest.raises(ApiException) as error:
            api.push_message(request)
        assert error.value.status == 429
    api.push_message(request)
    assert len(sb.delivered(line, user)) == 1


def test_timeout_fault_times_the_client_out(api, line):
    user = sb.create_user(line, "T")
    # count=None: the SDK's urllib3 retries an idempotent GET after a read timeout.
    sb.add_fault(line, endpoint="profile", timeout=True, timeout_seconds=1.0, count=None)
    with pytest.raises(urllib3.exceptions.MaxRetryError) as error:
        api.get_profile(user, _request_timeout=(1, 0.2))
    assert isinstance(error.value.reason, urllib3.exceptions.ReadTimeoutError)


def test_content_endpoint_returns_what_the_user_sent(blob, line):
    user = sb.create_user(line, "P")
    event = sb.user_event(line, user, "events", type="image")["event"]
    data = blob.get_message_content(event["message"]["id"])
    assert bytes(data).startswith(b"\x89PNG")


def test_quota_and_consumption(api, line):
    user = sb.create_user(line, "Q")
    api.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="x")]))
    assert api.get_message_quota().value == 200
    assert api.get_message_quota_consumption().total_usage == 1


@pytest.fixture
def receiver():
    """A stand-in bot that records what the sandbox posts to it."""
    received = []

    @Request.application
    def app(request):
        received.append((request.get_data(), dict(request.headers)))
        return Response("ok")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/line/webhook", received
    server.shutdown()
    thread.join(5)


def test_webhooks_are_signed_and_complete(line, receiver):
    url, received = receiver
    line.webhook_url = url
    user = sb.create_user(line, "W")
    result = sb.user_event(line, user, "events", type="text", text="こんにちは")
    assert result["webhook_status"] == 200
    [(body, headers)] = received
    expected = base64.b64encode(
        hmac.new(TEST_SECRET.encode(), body, hashlib.sha256).digest()
    ).decode()
    assert headers["X-Line-Signature"] == expected
    payload = json.loads(body)
    assert payload["destination"].startswith("U") and len(payload["destination"]) == 33
    [event] = payload["events"]
    for field in (
        "type",
        "mode",
        "timestamp",
        "source",
        "webhookEventId",
        "deliveryContext",
        "replyToken",
    ):
        assert field in event
    assert event["message"]["quoteToken"]
    assert len(event["webhookEventId"]) == 26

    line.state.redeliver(event)
    again = json.loads(received[1][0])["events"][0]
    assert again["deliveryContext"] == {"isRedelivery": True}
    assert (again["webhookEventId"], again["replyToken"]) == (
        event["webhookEventId"],
        event["replyToken"],
    )


def test_phone_page_is_served(line):
    page = requests.get(f"{line.url}/", timeout=5)
    assert page.status_code == 200
    assert "LINE" in page.text
    assert requests.get(f"{line.url}/static/phone.js", timeout=5).status_code == 200


def test_a_request_still_in_flight_at_reset_is_not_logged_after_it(line):
    """A timed-out call that the sandbox answers late must not show up in the next test."""
    sb.add_fault(line, endpoint="profile", latency_ms=400, count=1)
    late = threading.Thread(
        target=requests.get,
        args=(f"{line.url}/v2/bot/profile/U{'0' * 32}",),
        kwargs={"headers": {"Authorization": f"Bearer {TEST_TOKEN}"}, "timeout": 5},
    )
    late.start()
    wait_until(lambda: line.state.faults[0].count == 0)  # the call is inside the sandbox now
    line.state.reset()
    late.join()
    assert sb.api_requests(line) == []


# Multicast, quota, rate limits ----------------------------------------------------------

MANY = [f"U{n:032x}" for n in range(1, 502)]  # well-formed IDs of no user
ME = "<the test's user>"
UNITS = "customAggregationUnits"


@pytest.mark.parametrize(
    ("body", "prop"),
    [
        ({"to": [ME, *MANY[:500]], "messages": TEXT}, "to"),  # 501 IDs
        ({"to": [], "messages": TEXT}, "to"),
        ({"to": ME, "messages": TEXT}, "to"),  # one ID, not a list
        ({"to": [ME, "C" + "0" * 32], "messages": TEXT}, "to[1]"),  # a group
        ({"to": [ME, "U" + "AB" * 16], "messages": TEXT}, "to[1]"),  # upper case
        ({"to": [ME, MANY[0] + "\n"], "messages": TEXT}, "to[1]"),
        ({"to": [ME, 7], "messages": TEXT}, "to[1]"),
        ({"to": [ME]}, "messages"),
        ({"to": [ME], "messages": TEXT * 6}, "messages"),
        ({"to": [ME], "messages": [{"type": "text", "text": ""}]}, "messages[0].text"),
        ({"to": [ME], "messages": TEXT, UNITS: ["a", "b"]}, UNITS),
        ({"to": [ME], "messages": TEXT, UNITS: ["spring sale"]}, f"{UNITS}[0]"),
        ({"to": [ME], "messages": TEXT, "notificationDisabled": "yes"}, "notificationDisabled"),
    ],
)  # fmt: skip
def test_multicast_is_validated_like_line(line, body, prop):
    user = sb.create_user(line, "V")
    to = body["to"]
    to = [user if i == ME else i for i in to] if isinstance(to, list) else user
    response = _raw_multicast(line, {**body, "to": to})
    assert response.status_code == 400
    assert response.json()["message"].startswith("The request body has")
    assert prop in [d["property"] for d in response.json()["details"]]
    assert sb.delivered(line, user) == []
    assert _usage(line) == 0


def test_multicast_to_500_reaches_the_users_among_them_and_shares_one_record(line):
    users = [sb.create_user(line, f"R{n}") for n in range(3)]
    to = [*users, *MANY[: 500 - len(users)]]
    body = {
        "to": to,
        "messages": [
            {"type": "text", "text": "春の新メニュー"},
            {"type": "sticker", "packageId": "446", "stickerId": "1988"},
        ],
        "notificationDisabled": True,
        "customAggregationUnits": ["spring_2027"],
    }
    response = _raw_multicast(line, body)
    assert (response.status_code, response.json()) == (200, {})
    for user in users:
        received = sb.delivered(line, user)
        assert [r["message"]["type"] for r in received] == ["text", "sticker"]
        assert {r["via"] for r in received} == {"multicast"}
        assert {r["request_id"] for r in received} == {response.headers["X-Line-Request-Id"]}
    # 500 recipients share one record: a million-recipient campaign stays small
    assert line.state.deliveries[users[0]] is line.state.deliveries[users[2]]


def test_quota_counts_each_recipient_who_receives(api, line):
    friends = [sb.create_user(line, f"F{n}") for n in range(3)]
    blocked = sb.create_user(line, "B")
    sb.user_event(line, blocked, "unfollow")
    two_messages = [TextMessage(text="1"), TextMessage(text="2")]
    api.multicast(MulticastRequest(to=[*friends, blocked, MANY[0]], messages=two_messages))
    assert api.get_message_quota_consumption().total_usage == 3  # per recipient, not message
    api.push_message(PushMessageRequest(to=blocked, messages=[TextMessage(text="x")]))
    token = line.state.issue_reply_token(friends[0])
    api.reply_message(ReplyMessageRequest(reply_token=token, messages=[TextMessage(text="r")]))
    assert api.get_message_quota_consumption().total_usage == 3  # blocked and replies are free
    api.push_message(PushMessageRequest(to=friends[0], messages=two_messages))
    response = requests.get(
        f"{line.url}/v2/bot/message/quota/consumption",
        headers={"Authorization": f"Bearer {TEST_TOKEN}"},
        timeout=5,
    )
    assert response.json() == {"totalUsage": 4}


def test_an_enforced_quota_refuses_a_send_that_would_pass_it(line):
    users = [sb.create_user(line, f"Q{n}") for n in range(3)]
    sb.configure(line, quota=2, quota_enforced=True)
    key = str(uuid.uuid4())
    body = {"to": users, "messages": TEXT}
    refused = _raw_multicast(line, body, **{"X-Line-Retry-Key": key})
    assert refused.status_code == 429
    assert refused.json() == {"message": "You have reached your monthly limit."}
    assert all(sb.delivered(line, u) == [] for u in users) and _usage(line) == 0
    sb.configure(line, quota=3)
    assert _raw_multicast(line, body, **{"X-Line-Retry-Key": key}).status_code == 200
    assert _usage(line) == 3


def test_multicast_retry_key_is_accepted_once(api, line):
    users = [sb.create_user(line, f"K{n}") for n in range(2)]
    key = str(uuid.uuid4())
    request = MulticastRequest(to=users, messages=[TextMessage(text="一度だけ")])
    first = api.multicast_with_http_info(request, x_line_retry_key=key)
    with pytest.raises(ApiException) as error:
        api.multicast(request, x_line_retry_key=key)
    assert error.value.status == 409
    assert json.loads(error.value.body) == {"message": "The retry key is already accepted"}
    assert error.value.headers["X-Line-Accepted-Request-Id"] == first.headers["X-Line-Request-Id"]
    assert all(len(sb.delivered(line, u)) == 1 for u in users)
    assert _usage(line) == 2


@pytest.fixture
def clock(line):
    """The sandbox's rate-limit clock, moved by the test instead of sleeping."""
    now = [1000.0]
    line.state.rate_limiter.clock = lambda: now[0]
    return now


def test_rate_limit_answers_429_past_the_limit_and_recovers_after_a_second(api, line, clock):
    user = sb.create_user(line, "RL")
    sb.configure(line, rate_limits={"push": 3})
    request = PushMessageRequest(to=user, messages=[TextMessage(text="x")])
    for _ in range(3):
        api.push_message(request)
        clock[0] += 0.1
    key = str(uuid.uuid4())
    with pytest.raises(ApiException) as error:
        api.push_message(request, x_line_retry_key=key)
    assert error.value.status == 429
    assert json.loads(error.value.body) == {"message": RATE_LIMITED}
    api.multicast(MulticastRequest(to=[user], messages=[TextMessage(text="m")]))  # its own limit
    clock[0] = 1001.05  # the first push (at 1000.0) left the window, the second not yet
    api.push_message(request, x_line_retry_key=key)  # the refused request did not spend the key
    with pytest.raises(ApiException):
        api.push_message(request)
    assert len(sb.delivered(line, user)) == 5
    assert [r["status"] for r in sb.api_requests(line) if r["path"].endswith("push")] == [
        200,
        200,
        200,
        429,
        200,
        429,
    ]


def test_a_default_rate_limit_applies_to_every_endpoint_without_its_own(api, line, clock):
    user = sb.create_user(line, "D")
    sb.configure(line, rate_limit_per_second=1, rate_limits={"quota": None})
    api.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="x")]))
    api.get_profile(user)  # another endpoint, another window
    with pytest.raises(ApiException) as error:
        api.push_message(PushMessageRequest(to=user, messages=[TextMessage(text="x")]))
    assert error.value.status == 429
    for _ in range(5):
        api.get_message_quota()


@pytest.mark.parametrize(
    "settings",
    [
        {"rate_limits": {"narrowcast": 60}},
        {"rate_limits": {"push": -1}},
        {"rate_limits": [200]},
        {"rate_limit_per_second": "fast"},
        {"rate_limit_per_second": 1.5},
        {"quota_enforced": "yes"},
        {"latency_ms": 5, "quota": -1},  # nothing applied when one setting is bad
        {"colour": "red"},
    ],
)
def test_bad_settings_are_refused_whole(line, settings):
    response = requests.post(f"{line.url}/_sandbox/config", json=settings, timeout=5)
    assert response.status_code == 400, response.text
    assert line.state.config.latency_ms == 0 and line.state.config.rate_limits == {}


@pytest.mark.parametrize(
    ("at", "admitted"),
    [(0.0, True), (0.3, True), (0.6, False), (1.0, True), (1.2, False), (1.3, True)],
)
def test_rate_window_slides(at, admitted):
    """Two a second: each request is judged by the second before it."""
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    answers = {}
    for moment in (0.0, 0.3, 0.6, 1.0, 1.2, 1.3):
        now[0] = moment
        answers[moment] = limiter.admit("push", 2)
    assert answers[at] is admitted


def test_users_can_be_added_in_bulk(line):
    ids = MANY[:3]
    created = sb.create_users(
        line,
        [
            {"user_id": ids[0], "display_name": "一", "friend": True},
            {"user_id": ids[1], "display_name": "二", "friend": True, "language": "en"},
            {"user_id": ids[2], "display_name": "三", "blocked": True},
        ],
    )
    assert created == 3
    assert line.state.user(ids[1]).language == "en"
    listed = requests.get(f"{line.url}/_sandbox/users?limit=2", timeout=5).json()["users"]
    assert [u["user_id"] for u in listed] == ids[:2]
    assert _raw_multicast(line, {"to": ids, "messages": TEXT}).status_code == 200
    assert [len(sb.delivered(line, u)) for u in ids] == [1, 1, 0]
    bad = requests.post(
        f"{line.url}/_sandbox/users/batch",
        json={"users": [{"user_id": "U123", "display_name": "x"}]},
        timeout=5,
    )
    assert bad.status_code == 400 and "users[0].user_id" in bad.json()["message"]
