"""Every error under /api/v1 is JSON: `{"error", "message"}`, and `parameter` for a 422."""

from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException

ERROR_CODES = {
    401: ("unauthorized", "a valid bearer token is required"),
    404: ("not_found", "no such resource"),
    405: ("method_not_allowed", "this path does not take this method"),
}


class InvalidParameter(ValueError):
    """Input that cannot be used; answered with 422."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"{name}: {problem}")
        self.name = name


def invalid_parameter(exc: InvalidParameter):
    body = {"error": "invalid_parameter", "message": str(exc), "parameter": exc.name}
    return jsonify(body), 422


def http_error(exc: HTTPException):
    """Any HTTP error of an /api/v1 request, as JSON with the same status."""
    code = exc.code or 500
    error, message = ERROR_CODES.get(code, (_slug(exc.name), exc.description or exc.name))
    response = jsonify({"error": error, "message": message})
    response.status_code = code
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    allowed = getattr(exc, "valid_methods", None)
    if code == 405 and allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _slug(name: str) -> str:
    return name.lower().replace(" ", "_")
