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

from tests import sandbox_admin as sb
from tests.conftest import TEST_SECRET, TEST_TOKEN, wait_until


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
    return requests.post(
        f"{line.url}/v2/bot/message/push",
        json=body,
        headers={"Authorization": f"Bearer {token}", **headers},
        timeout=5,
    )


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
