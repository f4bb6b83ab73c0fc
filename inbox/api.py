"""The JSON API under /api/v1, authenticated with bearer tokens."""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, jsonify, redirect, request

from bot.line_client import CONTENT_GONE, CONTENT_PREPARING, CONTENT_READY, RETRY
from crm.api_tokens import authenticate_api_token
from crm.clock import utcnow
from crm.customers import list_customers
from crm.interactions import list_interactions
from crm.models import Customer, Interaction
from inbox.openapi import openapi_document
from inbox.serializers import customer_json, interaction_json
from web.context import request_session, services

bp = Blueprint("api", __name__, url_prefix="/api/v1")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class InvalidParameter(ValueError):
    """A query parameter that cannot be used; answered with 422."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


@bp.errorhandler(InvalidParameter)
def _invalid(exc: InvalidParameter):
    body = {"error": "invalid_parameter", "message": str(exc), "parameter": exc.name}
    return jsonify(body), 422


@bp.errorhandler(401)
def _unauthorized(_exc):
    body = {"error": "unauthorized", "message": "a valid bearer token is required"}
    return jsonify(body), 401, {"WWW-Authenticate": 'Bearer realm="api"'}


@bp.errorhandler(404)
def _not_found(_exc):
    return jsonify({"error": "not_found", "message": "no such resource"}), 404


@bp.before_request
def _authenticate():
    """Every endpoint but the OpenAPI document needs a live bearer token."""
    if request.endpoint == "api.openapi":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401)
    with services().db.transaction() as session:
        api_token = authenticate_api_token(session, token.strip(), utcnow())
        if api_token is None:
            abort(401)
        g.api_token_name = api_token.name


def _int_param(name: str, default: int | None, minimum: int = 1, maximum: int | None = None):
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(name, "must be a whole number") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise InvalidParameter(name, f"must be between {minimum} and {maximum or '∞'}")
    return value


def _page(items, serialize, limit: int):
    """One page and the cursor for the next (the last id shown), keyset style."""
    page = items[:limit]
    next_cursor = page[-1].id if len(items) > limit else None
    return jsonify({"data": [serialize(item) for item in page], "next_cursor": next_cursor})


@bp.get("/customers")
def customers_index():
    """Customers, newest first; filter by line_user_id."""
    limit = _int_param("limit", DEFAULT_LIMIT, maximum=MAX_LIMIT)
    cursor = _int_param("cursor", None)
    items = list_customers(
        request_session(),
        line_user_id=request.args.get("line_user_id"),
        before_id=cursor,
        limit=limit + 1,
    )
    return _page(items, customer_json, limit)


@bp.get("/customers/<int:customer_id>")
def customers_show(customer_id: int):
    """One customer."""
    customer = request_session().get(Customer, customer_id)
    if customer is None:
        abort(404)
    return jsonify({"data": customer_json(customer)})


@bp.get("/customers/<int:customer_id>/interactions")
def customer_interactions(customer_id: int):
    """The customer's timeline, newest first."""
    session = request_session()
    if session.get(Customer, customer_id) is None:
        abort(404)
    limit = _int_param("limit", DEFAULT_LIMIT, maximum=MAX_LIMIT)
    cursor = _int_param("cursor", None)
    items = list_interactions(session, customer_id, before_id=cursor, limit=limit + 1)
    return _page(items, interaction_json, limit)


MEDIA_KINDS = {"image", "video", "audio", "file"}
CONTENT_ANSWERS = {
    CONTENT_PREPARING: (202, "preparing", "LINE is still preparing this media; try again shortly"),
    CONTENT_GONE: (410, "gone", "LINE no longer has this media (expired or unsent)"),
    RETRY: (502, "line_unavailable", "LINE did not answer; try again later"),
}


@bp.get("/interactions/<int:interaction_id>/content")
def interaction_content(interaction_id: int):
    """The photo, video, audio or file a customer sent, fetched from LINE on demand."""
    item = request_session().get(Interaction, interaction_id)
    if item is None or item.direction != "in" or item.kind not in MEDIA_KINDS:
        abort(404)
    provider = item.payload.get("contentProvider") or {}
    if provider.get("type") == "external" and provider.get("originalContentUrl"):
        return redirect(provider["originalContentUrl"])
    if item.unsent_at is not None or not item.line_message_id:
        return _content_error(CONTENT_GONE)
    outcome = services().line.get_content(item.line_message_id)
    if outcome.result != CONTENT_READY:
        return _content_error(outcome.result)
    headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(outcome.body, content_type=outcome.content_type, headers=headers)


def _content_error(result: str):
    status, error, message = CONTENT_ANSWERS[result]
    headers = {"Retry-After": "5"} if status == 202 else {}
    return jsonify({"error": error, "message": message}), status, headers


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())
