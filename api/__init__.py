"""The JSON API under /api/v1: a blueprint per resource module, bearer tokens, JSON errors,
and /api/v1/openapi.json generated from the operations' declarations (api/spec.py)."""

from __future__ import annotations

from flask import Blueprint, abort, g, jsonify, request

from api import (
    campaigns,
    customers,
    faqs,
    interactions,
    loyalty,
    preferences,
    segments,
    surveys,
)
from api.errors import InvalidParameter, http_error, invalid_parameter
from api.spec import PREFIX, openapi_document
from crm.api_tokens import authenticate_api_token, needs_use_noted, note_token_use
from crm.clock import utcnow
from request_scope import services

RESOURCES = (
    campaigns.bp,
    campaigns.topics_bp,
    customers.bp,
    faqs.bp,
    interactions.bp,
    loyalty.bp,
    preferences.bp,
    segments.bp,
    surveys.bp,
)

bp = Blueprint("api", __name__, url_prefix=PREFIX)
for resource in RESOURCES:
    bp.register_blueprint(resource)
bp.register_error_handler(InvalidParameter, invalid_parameter)


@bp.before_request
def _authenticate():
    """Every endpoint but the OpenAPI document needs a live bearer token."""
    if request.endpoint == "api.openapi":
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(401)
    db, now = services().db, utcnow()
    with db.read_session() as session:
        api_token = authenticate_api_token(session, token.strip())
    if api_token is None:
        abort(401)
    g.api_token_name = api_token.name
    if needs_use_noted(api_token, now):  # a write only once a minute per token
        with db.transaction() as session:
            note_token_use(session, api_token.id, now)


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


__all__ = ["bp", "http_error", "is_api_request"]
