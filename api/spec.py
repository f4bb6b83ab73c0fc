"""Operations are declared where they are routed (`@operation`), with their query model and
their responses by status; the same declaration validates the query string (422 naming the
bad parameter) and becomes the operation in /api/v1/openapi.json."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from api.errors import InvalidParameter
from api.schemas import Error

PREFIX = "/api/v1"
BINARY = "binary"  # a response that is bytes, not JSON


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # OpenAPI form: /customers/{customer_id}
    summary: str
    responses: dict[int, tuple[type[BaseModel] | str | None, str]]
    query: type[BaseModel] | None = None
    path_ids: tuple[str, ...] = field(default=())
    body: type[BaseModel] | None = None
    path_names: tuple[str, ...] = field(default=())  # string path parameters


OPERATIONS: list[Operation] = []


def operation(
    blueprint,
    rule: str,
    summary: str,
    responses: dict[int, tuple[type[BaseModel] | str | None, str]],
    query: type[BaseModel] | None = None,
    method: str = "GET",
    body: type[BaseModel] | None = None,
) -> Callable:
    """Route a view on `blueprint` and describe it; with `query`, the view gets the validated
    query model as its `query` argument, with `body` the validated JSON body as `body`."""

    def register(view: Callable) -> Callable:
        @functools.wraps(view)
        def validated(**kwargs):
            if query is not None:
                kwargs["query"] = _parse_query(query)
            if body is not None:
                kwargs["body"] = _parse_body(body)
            return view(**kwargs)

        blueprint.add_url_rule(rule, view_func=validated, methods=[method])
        path = (blueprint.url_prefix or "") + rule
        ids = tuple(re.findall(r"<id:(\w+)>", path))
        names = tuple(re.findall(r"<(\w+)>", path))
        openapi_path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
        OPERATIONS.append(
            Operation(method, openapi_path, summary, responses, query, ids, body, names)
        )
        return validated

    return register


def _parse_query(model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        problem = exc.errors()[0]
        name = str(problem["loc"][0]) if problem["loc"] else "query"
        raise InvalidParameter(name, problem["msg"]) from None


def _parse_body(model: type[BaseModel]) -> BaseModel:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise InvalidParameter("body", "a JSON object is needed (Content-Type: application/json)")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise InvalidParameter(field_path(problem["loc"]) or "body", problem["msg"]) from None


def field_path(loc: tuple) -> str:
    """pydantic's ('questions', 2, 'if', 'op') as questions[2].if.op."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif not re.fullmatch(r"\w+", str(part)) or str(part)[0].isupper():
            continue  # a union member's name (str, function-after[...]), not a field
        else:
            path += f".{part}" if path else str(part)
    return path


COMMON_RESPONSES = {
    401: (Error, "missing, unknown or revoked bearer token"),
    405: (Error, "the path exists, not with this method"),
}


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document, from the declared operations and models."""
    models = {Error}
    for op in OPERATIONS:
        models.update(m for m, _ in op.responses.values() if isinstance(m, type))
    inputs = {op.body for op in OPERATIONS if op.body is not None}
    _keys, schema = models_json_schema(
        [(model, "serialization") for model in models]
        + [(model, "validation") for model in inputs],
        ref_template="#/components/schemas/{model}",
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "LINE CRM API",
            "version": "1",
            "description": "Customers and their interaction history. Times are UTC.",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "create with `flask --app app api-token NAME`",
                }
            },
            "schemas": schema.get("$defs", {}),
        },
    }


def _operation(op: Operation) -> dict[str, Any]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        }
        for name in op.path_ids
    ]
    parameters += [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in op.path_names
    ]
    if op.query is not None:
        properties = op.query.model_json_schema()["properties"]
        parameters += [
            {"name": name, "in": "query", "required": False, "schema": _nullable_dropped(prop)}
            for name, prop in properties.items()
        ]
    responses = {**COMMON_RESPONSES, **op.responses}
    if op.query is not None or op.body is not None:
        responses.setdefault(422, (Error, "a parameter or a field of the body is invalid"))
    described: dict[str, Any] = {
        "summary": op.summary,
        "parameters": parameters,
        "responses": {str(status): _response(*answer) for status, answer in responses.items()},
    }
    if op.body is not None:
        ref = {"$ref": f"#/components/schemas/{op.body.__name__}"}
        described["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref}},
        }
    return described


def _nullable_dropped(prop: dict[str, Any]) -> dict[str, Any]:
    """`int | None = None` is 'may be left out' in a query string, not 'may be null'."""
    prop = {k: v for k, v in prop.items() if k not in ("title", "default")}
    options = [p for p in prop.pop("anyOf", []) if p.get("type") != "null"]
    return {**options[0], **prop} if options else prop


def _response(model: type[BaseModel] | str | None, description: str) -> dict[str, Any]:
    if model is None:
        return {"description": description}
    if model == BINARY:
        return {
            "description": description,
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"description": description, "content": {"application/json": {"schema": ref}}}
