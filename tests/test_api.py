"""The JSON API: tokens, errors, paging, and the OpenAPI document telling the truth."""

import base64
import re
from datetime import UTC, datetime

import jsonschema
import pytest
import time_machine
from sqlalchemy import select

from api.spec import openapi_document
from bot.handling import handle_pending_events
from crm.clock import utcnow
from crm.interactions import record_inbound
from crm.models import ApiToken, Customer, Interaction
from tests import line_payloads as lp
from tests import sandbox_admin as sb


@pytest.fixture
def api(client, token):
    """GET only, as every test here reads (conftest's `api` takes a method)."""

    def get(path, **params):
        return client.get(
            f"/api/v1{path}", query_string=params, headers={"Authorization": f"Bearer {token}"}
        )

    return get


def _validate(response, schema_name):
    document = openapi_document()
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": document["components"]}
    jsonschema.validate(response.get_json(), schema)


def _seed(db, customers=3, interactions=0):
    ids = []
    with db.transaction() as session:
        for number in range(customers):
            customer = Customer(
                line_user_id=lp.new_user_id(), display_name=f"客{number}", follow_status="following"
            )
            session.add(customer)
            session.flush()
            for index in range(interactions):
                record_inbound(
                    session, customer, kind="text", occurred_at=utcnow(), text=f"m{index}"
                )
            ids.append(customer.id)
    return ids


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer wrong-token", "Basic dXNlcjpwYXNz", "bearer "],
)
def test_requests_without_a_valid_token_get_401(client, db, header):
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("/api/v1/customers", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_refused(client, db, token):
    with db.transaction() as session:
        session.scalars(select(ApiToken)).one().revoked_at = utcnow()
    response = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


def test_tokens_are_stored_hashed(db, token):
    with db.read_session() as session:
        row = session.scalars(select(ApiToken)).one()
    assert token not in (row.token_hash, row.prefix)
    assert row.token_hash != token and len(row.token_hash) == 64


def test_customers_are_listed_newest_first_and_paged(api, db):
    ids = _seed(db, customers=5)
    first = api("/customers", limit=2)
    assert first.status_code == 200
    _validate(first, "CustomerPage")
    assert [c["id"] for c in first.get_json()["data"]] == ids[::-1][:2]
    cursor = first.get_json()["next_cursor"]
    second = api("/customers", limit=2, cursor=cursor)
    assert [c["id"] for c in second.get_json()["data"]] == ids[::-1][2:4]
    last = api("/customers", limit=2, cursor=second.get_json()["next_cursor"])
    assert [c["id"] for c in last.get_json()["data"]] == ids[:1]
    assert last.get_json()["next_cursor"] is None


def test_customers_filter_by_line_user_id(api, db):
    _seed(db, customers=3)
    with db.read_session() as session:
        wanted = session.scalars(select(Customer)).first()
    response = api("/customers", line_user_id=wanted.line_user_id)
    assert [c["id"] for c in response.get_json()["data"]] == [wanted.id]


def test_customer_detail_and_404(api, db):
    [customer_id] = _seed(db, customers=1)
    response = api(f"/customers/{customer_id}")
    assert response.status_code == 200
    _validate(response, "CustomerEnvelope")
    assert response.get_json()["data"]["display_name"] == "客0"
    missing = api("/customers/999999")
    assert missing.status_code == 404
    _validate(missing, "Error")


def test_interactions_newest_first_with_paging(api, db):
    [customer_id] = _seed(db, customers=1, interactions=5)
    response = api(f"/customers/{customer_id}/interactions", limit=3)
    _validate(response, "InteractionPage")
    page = response.get_json()
    assert [i["text"] for i in page["data"]] == ["m4", "m3", "m2"]
    rest = api(
        f"/customers/{customer_id}/interactions", limit=3, cursor=page["next_cursor"]
    ).get_json()
    assert [i["text"] for i in rest["data"]] == ["m1", "m0"]
    assert api("/customers/999999/interactions").status_code == 404


@pytest.mark.parametrize(
    ("name", "value"), [("limit", "0"), ("limit", "201"), ("limit", "ten"), ("cursor", "-3")]
)
def test_bad_parameters_get_422(api, db, name, value):
    response = api("/customers", **{name: value})
    assert response.status_code == 422
    _validate(response, "Error")
    assert response.get_json()["parameter"] == name


def test_unsent_messages_are_hidden_by_the_api(api, db):
    [customer_id] = _seed(db, customers=1)
    with db.transaction() as session:
        customer = session.get(Customer, customer_id)
        item = record_inbound(session, customer, kind="text", occurred_at=utcnow(), text="secret")
        item.unsent_at = utcnow()
    [shown] = api(f"/customers/{customer_id}/interactions").get_json()["data"]
    assert shown["unsent"] is True
    assert shown["text"] is None and shown["payload"] == {}


def test_openapi_document_lists_exactly_the_routes(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    routed = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")), method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1") and not rule.rule.endswith("openapi.json")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    assert routed == documented


def test_api_token_command_prints_a_working_token(app, client):
    result = app.test_cli_runner().invoke(args=["api-token", "integration"])
    assert result.exit_code == 0
    plain = result.output.strip()
    response = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200


def test_healthz_reports_database_and_mode(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"] in ("sqlite", "postgresql")


def _media_interaction(post_events, services, db, line, **spec):
    """A customer sends media through the sandbox; returns the stored interaction's id."""
    user = sb.create_user(line, "写真の人")
    event = sb.user_event(line, user, "events", **spec)["event"]
    post_events(event)
    handle_pending_events(services.db)
    with db.read_session() as session:
        return session.scalars(
            select(Interaction.id).where(Interaction.line_message_id == event["message"]["id"])
        ).one()


def test_photo_content_is_fetched_from_line_on_demand(api, post_events, services, db, line):
    photo = base64.b64encode(b"\x89PNG\r\n\x1a\nfake-but-ours").decode()
    item_id = _media_interaction(
        post_events,
        services,
        db,
        line,
        type="image",
        content_base64=photo,
        content_type="image/png",
    )
    response = api(f"/interactions/{item_id}/content")
    assert response.status_code == 200
    assert response.content_type == "image/png"
    assert response.data == base64.b64decode(photo)


def test_video_still_being_prepared_is_202(api, post_events, services, db, line):
    sb.configure(line, content_prepare_seconds=60)
    item_id = _media_interaction(post_events, services, db, line, type="video")
    response = api(f"/interactions/{item_id}/content")
    assert response.status_code == 202
    assert response.headers["Retry-After"] == "5"


def test_content_lines_deleted_is_410(api, post_events, services, db, line):
    item_id = _media_interaction(post_events, services, db, line, type="image")
    line.state.content.clear()  # LINE deletes content after a while
    assert api(f"/interactions/{item_id}/content").status_code == 410


def test_content_of_a_text_message_is_404(api, db):
    [_customer_id] = _seed(db, customers=1, interactions=1)
    with db.read_session() as session:
        item_id = session.scalars(select(Interaction.id)).one()
    assert api(f"/interactions/{item_id}/content").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "status", "error"),
    [
        ("get", "/api/v1/no-such-thing", 404, "not_found"),
        ("get", "/api/v1/customers/99999999999999999999999", 404, "not_found"),
        ("get", "/api/v1/customers/0", 404, "not_found"),
        ("get", "/api/v1/customers/-1/interactions", 404, "not_found"),
        ("get", "/api/v1/interactions/9223372036854775808/content", 404, "not_found"),
        ("post", "/api/v1/customers", 405, "method_not_allowed"),
        ("delete", "/api/v1/customers/1", 405, "method_not_allowed"),
    ],
)
def test_errors_under_the_api_are_json(client, token, method, path, status, error):
    response = getattr(client, method)(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == status
    assert response.get_json()["error"] == error
    _validate(response, "Error")


def test_largest_database_id_is_an_ordinary_404(api, db):
    assert api("/customers/9223372036854775807").status_code == 404
    assert api("/customers", cursor="9223372036854775808").status_code == 422


def test_unknown_query_parameter_is_named_in_a_422(api, db):
    response = api("/customers", limt="5")
    assert response.status_code == 422
    assert response.get_json()["parameter"] == "limt"


def test_a_tokens_last_use_is_kept_to_the_minute(db, api):
    def last_used():
        with db.read_session() as session:
            return session.scalar(select(ApiToken.last_used_at))

    with time_machine.travel(datetime(2026, 12, 1, 3, 0, tzinfo=UTC), tick=False):
        assert api("/customers").status_code == 200
        first = last_used()
        assert first == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    with time_machine.travel(datetime(2026, 12, 1, 3, 0, 59, tzinfo=UTC), tick=False):
        assert api("/customers").status_code == 200
        assert last_used() == first  # no write within the minute
    with time_machine.travel(datetime(2026, 12, 1, 3, 1, 0, tzinfo=UTC), tick=False):
        assert api("/customers").status_code == 200
        assert last_used() == datetime(2026, 12, 1, 3, 1, tzinfo=UTC)
