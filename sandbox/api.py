"""The Messaging API endpoints, answering like LINE: same paths, limits, codes and bodies."""

from __future__ import annotations

import json
import re
import time
import uuid
from functools import wraps

from flask import Blueprint, Response, current_app, g, jsonify, request

from sandbox.rate_limits import RATE_LIMITED
from sandbox.state import SandboxState, sent_messages
from sandbox.validation import check_messages, check_send_options, error_body

bp = Blueprint("line_api", __name__)

MAX_BODY_BYTES = 2 * 1024 * 1024
USER_ID = re.compile(r"U[0-9a-f]{32}")
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
AUTH_FAILED = (
    "Authentication failed. Confirm that the access token in the authorization header is valid."
)
MONTHLY_LIMIT = "You have reached your monthly limit."
FAULT_BODIES = {
    429: RATE_LIMITED,
    500: "An error occurred in the server",
}


def state() -> SandboxState:
    return current_app.config["SANDBOX_STATE"]


def line_error(status: int, message: str, **extra) -> Response:
    response = jsonify({"message": message, **extra})
    response.status_code = status
    return response


def endpoint(name: str, limit_as: str | None = None):
    """Auth, latency and injected faults, as LINE's front door would see them; faults are
    found by `name`, the rate limit by `limit_as` when the call has its own (else `name`)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            g.request_id = uuid.uuid4().hex
            generation = state().generation  # a slow request must not leak into a reset state
            response = _front_door(name, limit_as or name) or _answer(view, args, kwargs)
            response.headers["X-Line-Request-Id"] = g.request_id
            state().log_request(
                request.method,
                request.path,
                response.status_code,
                request.headers.get("X-Line-Retry-Key"),
                generation,
            )
            return response

        return wrapper

    return decorate


class Refused(Exception):
    """Raised by an endpoint's checks: LINE's refusal, answered as the response."""

    def __init__(self, response: Response):
        super().__init__(response.status)
        self.response = response


def refuse_if(refusal: Response | None) -> None:
    """Stop the endpoint with this refusal, if there is one."""
    if refusal is not None:
        raise Refused(refusal)


def _answer(view, args, kwargs) -> Response:
    try:
        return view(*args, **kwargs)
    except Refused as refused:
        return refused.response


def _front_door(name: str, limit_name: str) -> Response | None:
    if request.headers.get("Authorization") != f"Bearer {state().access_token}":
        return line_error(401, AUTH_FAILED)
    if not state().admit(limit_name):
        return line_error(429, RATE_LIMITED)
    delay = state().config.latency_ms / 1000
    fault = state().take_fault(name)
    if fault:
        delay += fault.latency_ms / 1000 + (fault.timeout_seconds if fault.timeout else 0)
    if delay:
        time.sleep(delay)
    if fault and fault.status:
        body = fault.body or {"message": FAULT_BODIES.get(fault.status, "error")}
        response = jsonify(body)
        response.status_code = fault.status
        return response
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return line_error(413, "Request Entity Too Large")
    return None


def json_body() -> tuple[dict | None, Response | None]:
    """The request's JSON object, or LINE's 400 for anything else."""
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError:
        return None, line_error(
            400,
            "The request body has 1 error(s)",
            details=[{"message": "Invalid JSON", "property": ""}],
        )
    if not isinstance(body, dict):
        return None, line_error(
            400,
            "The request body has 1 error(s)",
            details=[{"message": "Must be an object", "property": ""}],
        )
    return body, None


def _send(via: str, recipients_of, with_sent: bool) -> Response:
    """The shared path of push and multicast: retry key, validation, quota, delivery."""
    body, error = json_body()
    if error:
        return error
    key = request.headers.get("X-Line-Retry-Key")
    if key is not None and not UUID_RE.fullmatch(key):
        return line_error(400, "The retry key must be a UUID in hexadecimal format")
    if key:
        held = state().reserve_retry_key(key, g.request_id)
        if held:
            extra = {"sentMessages": held.sent_messages} if with_sent else {}
            response = line_error(409, "The retry key is already accepted", **extra)
            response.headers["X-Line-Accepted-Request-Id"] = held.request_id
            return response
    recipients, problems = recipients_of(body)
    problems += check_messages(body.get("messages")) + check_send_options(body)
    refusal = None
    if problems:
        refusal = line_error(400, **error_body(problems))
    elif recipients is None:
        refusal = line_error(400, "Failed to send messages")
    elif not state().deliver(recipients, via, body["messages"], g.request_id, key):
        refusal = line_error(429, MONTHLY_LIMIT)
    if refusal is not None:
        if key:
            state().settle_retry_key(key, False, [])
        return refusal
    sent = sent_messages(body["messages"]) if with_sent else []
    if key:
        state().settle_retry_key(key, True, sent)
    return jsonify({"sentMessages": sent} if with_sent else {})


def _push_recipient(body: dict):
    to = body.get("to")
    if not isinstance(to, str) or not to:
        return [], [("May not be empty", "to")]
    if state().user(to) is None:
        return None, []
    return [to], []


def _multicast_recipients(body: dict):
    to = body.get("to")
    if not isinstance(to, list) or not 1 <= len(to) <= 500:
        return [], [("Size must be between 1 and 500", "to")]
    bad = [
        i
        for i, user_id in enumerate(to)
        if not isinstance(user_id, str) or not USER_ID.fullmatch(user_id)
    ]
    if bad:
        return [], [("Invalid user ID", f"to[{bad[0]}]")]
    # IDs of no user here are accepted and not delivered (LINE: "200 but not received")
    return to, []


@bp.post("/v2/bot/message/push")
@endpoint("push")
def push():
    return _send("push", _push_recipient, with_sent=True)


@bp.post("/v2/bot/message/multicast")
@endpoint("multicast")
def multicast():
    return _send("multicast", _multicast_recipients, with_sent=False)


@bp.post("/v2/bot/message/reply")
@endpoint("reply")
def reply():
    if request.headers.get("X-Line-Retry-Key"):
        return line_error(400, "The retry key is not supported by this API")
    body, error = json_body()
    if error:
        return error
    problems = check_messages(body.get("messages"))
    if problems:
        return line_error(400, **error_body(problems))
    user_id = state().use_reply_token(str(body.get("replyToken") or ""))
    if user_id is None:
        return line_error(400, "Invalid reply token")
    state().deliver([user_id], "reply", body["messages"], g.request_id, None)
    return jsonify({"sentMessages": sent_messages(body["messages"])})


@bp.get("/v2/bot/profile/<user_id>")
@endpoint("profile")
def profile(user_id: str):
    user = state().user(user_id)
    if user is None or user.blocked:
        return line_error(404, "Not found")
    data = {"displayName": user.display_name, "userId": user.user_id}
    for key, value in (
        ("pictureUrl", user.picture_url),
        ("statusMessage", user.status_message),
        ("language", user.language),
    ):
        if value:
            data[key] = value
    return jsonify(data)


@bp.get("/v2/bot/message/<message_id>/content")
@endpoint("content")
def content(message_id: str):
    stored = state().content.get(message_id)
    if stored is None:
        return line_error(404, "Not found")
    if message_id in state().unsent:
        return line_error(410, "Gone")
    preparing = time.monotonic() - stored.created < state().config.content_prepare_seconds
    if stored.kind in ("video", "audio") and preparing:
        return Response(status=202)
    return Response(stored.body, content_type=stored.content_type)


@bp.get("/v2/bot/message/quota")
@endpoint("quota")
def quota():
    return jsonify({"type": "limited", "value": state().config.quota})


@bp.get("/v2/bot/message/quota/consumption")
@endpoint("quota")
def quota_consumption():
    return jsonify({"totalUsage": state().usage})


@bp.post("/v2/bot/chat/loading/start")
@endpoint("loading")
def loading():
    body, error = json_body()
    if error:
        return error
    seconds = body.get("loadingSeconds", 20)
    if not isinstance(seconds, int) or not 5 <= seconds <= 60 or seconds % 5:
        return line_error(
            400,
            "The request body has 1 error(s)",
            details=[
                {
                    "message": "Must be a multiple of 5 between 5 and 60",
                    "property": "loadingSeconds",
                }
            ],
        )
    if not isinstance(body.get("chatId"), str) or state().user(body["chatId"]) is None:
        return line_error(
            400,
            "The request body has 1 error(s)",
            details=[{"message": "Invalid chat ID", "property": "chatId"}],
        )
    response = jsonify({})
    response.status_code = 202
    return response
