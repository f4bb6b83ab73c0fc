"""The floor: the least any correct webhook must do (check the signature, insert one row).

Served by gunicorn exactly like the app, so `bench/webhook.py` can report our throughput as a
fraction of it. `gunicorn "bench.floor:create_floor_app()"`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from crm.db import create_db_engine

metadata = MetaData()
floor_events = Table(
    "bench_floor_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("event_id", String(64), unique=True),
    Column("body", Text),
)


def create_floor_app():
    """A bare WSGI app: 400 on a bad signature, else one INSERT and 200."""
    secret = os.environ["LINE_CHANNEL_SECRET"].encode()
    engine = create_db_engine(os.environ["DATABASE_URL"])
    metadata.create_all(engine)

    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        digest = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
        signature = environ.get("HTTP_X_LINE_SIGNATURE", "").encode()
        if not hmac.compare_digest(digest, signature):
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"bad signature"]
        event_id = json.loads(body)["events"][0]["webhookEventId"]
        with engine.begin() as conn:
            conn.execute(floor_events.insert().values(event_id=event_id, body=body.decode()))
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"status":"ok"}']

    return app
