"""The OpenAPI 3.1 document for /api/v1; tests check that responses match these schemas."""

from __future__ import annotations

from typing import Any

_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

CUSTOMER = {
    "type": "object",
    "required": ["id", "line_user_id", "follow_status", "profile_status", "created_at"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "line_user_id": {"type": "string"},
        "display_name": _NULLABLE_STRING,
        "picture_url": _NULLABLE_STRING,
        "status_message": _NULLABLE_STRING,
        "language": _NULLABLE_STRING,
        "follow_status": {"enum": ["following", "blocked", "unknown"]},
        "followed_at": _NULLABLE_TIME,
        "blocked_at": _NULLABLE_TIME,
        "follow_count": {"type": "integer"},
        "last_follow_was_unblock": {"type": ["boolean", "null"]},
        "marketing_consent": {"type": "boolean"},
        "profile_status": {"enum": ["pending", "ok", "unavailable"]},
        "first_contact_at": _NULLABLE_TIME,
        "last_contact_at": _NULLABLE_TIME,
        "created_at": {"type": "string", "format": "date-time"},
    },
}

DELIVERY = {
    "type": ["object", "null"],
    "required": ["status"],
    "properties": {
        "status": {"enum": ["pending", "sending", "sent", "failed"]},
        "method": {"enum": ["reply", "push", "multicast", None]},
        "attempts": {"type": "integer"},
        "sent_at": _NULLABLE_TIME,
        "error_status": {"type": ["integer", "null"]},
        "error_message": _NULLABLE_STRING,
    },
}

INTERACTION = {
    "type": "object",
    "required": ["id", "customer_id", "direction", "kind", "occurred_at", "unsent"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "customer_id": {"type": "integer"},
        "direction": {"enum": ["in", "out"]},
        "kind": {"type": "string", "description": "text, sticker, image, follow, postback, ..."},
        "occurred_at": {"type": "string", "format": "date-time"},
        "text": _NULLABLE_STRING,
        "payload": {"type": "object", "description": "LINE's message/postback object as sent"},
        "line_message_id": _NULLABLE_STRING,
        "unsent": {"type": "boolean"},
        "unsent_at": _NULLABLE_TIME,
        "sender": {"enum": ["bot", "staff", "campaign", None]},
        "delivery": {"$ref": "#/components/schemas/Delivery"},
    },
}

ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "parameter": {"type": "string"},
    },
}


def _page_of(ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}},
            "next_cursor": {
                "type": ["integer", "null"],
                "description": "pass as `cursor` for the next page; null on the last page",
            },
        },
    }


def _json(schema_ref: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}},
    }


_ERRORS = {
    "401": _json("Error", "missing, unknown or revoked bearer token"),
    "422": _json("Error", "a query parameter is invalid"),
}
_PAGING = [
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
    {"name": "cursor", "in": "query", "schema": {"type": "integer", "minimum": 1}},
]
_CUSTOMER_ID = {
    "name": "customer_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer"},
}


def openapi_document() -> dict[str, Any]:
    """The whole document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LINE CRM API",
            "version": "1",
            "description": "Customers and their interaction history. Times are UTC.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/customers": {
                "get": {
                    "summary": "List customers, newest first",
                    "parameters": [
                        *_PAGING,
                        {"name": "line_user_id", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": _json("CustomerPage", "a page of customers"), **_ERRORS},
                }
            },
            "/customers/{customer_id}": {
                "get": {
                    "summary": "One customer",
                    "parameters": [_CUSTOMER_ID],
                    "responses": {
                        "200": _json("CustomerEnvelope", "the customer"),
                        "404": _json("Error", "no such customer"),
                        **_ERRORS,
                    },
                }
            },
            "/customers/{customer_id}/interactions": {
                "get": {
                    "summary": "A customer's interactions, newest first",
                    "parameters": [_CUSTOMER_ID, *_PAGING],
                    "responses": {
                        "200": _json("InteractionPage", "a page of interactions"),
                        "404": _json("Error", "no such customer"),
                        **_ERRORS,
                    },
                }
            },
            "/interactions/{interaction_id}/content": {
                "get": {
                    "summary": "Media a customer sent (photo, video, audio, file), from LINE",
                    "parameters": [
                        {
                            "name": "interaction_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the media bytes with LINE's content type",
                            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
                        },
                        "202": _json("Error", "LINE is still preparing the media (Retry-After)"),
                        "302": {"description": "media hosted elsewhere (external provider)"},
                        "404": _json("Error", "no such media interaction"),
                        "410": _json("Error", "LINE no longer has it, or it was unsent"),
                        "502": _json("Error", "LINE did not answer"),
                        **_ERRORS,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "create with `flask --app app api-token NAME`",
                }
            },
            "schemas": {
                "Customer": CUSTOMER,
                "CustomerEnvelope": {
                    "type": "object",
                    "required": ["data"],
                    "properties": {"data": {"$ref": "#/components/schemas/Customer"}},
                },
                "CustomerPage": _page_of("Customer"),
                "Interaction": INTERACTION,
                "InteractionPage": _page_of("Interaction"),
                "Delivery": DELIVERY,
                "Error": ERROR,
            },
        },
    }
