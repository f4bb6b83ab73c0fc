"""URL converters every blueprint may use; registered by the app factory before any route."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

DATABASE_ID_MAX = 2**63 - 1  # BIGINT; SQLite's INTEGER is the same size


class DatabaseIdConverter(IntegerConverter):
    """`<id:name>`: a row id from 1 to the database's largest integer. Anything else matches no
    route, so it is a 404 like any unknown id, never a database error."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=DATABASE_ID_MAX)


CONVERTERS = {"id": DatabaseIdConverter}
