"""CSV downloads for admins: UTF-8 with a BOM so Excel in Japan reads it, streamed row by row,
cells that spreadsheets would run as formulas defused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response, stream_with_context
from sqlalchemy.orm import Session

from crm.customer_directory import csv_safe


def csv_download(rows: Iterator[list[str]], session: Session, filename: str) -> Response:
    """Stream `rows`; `session` (which the rows read from) is closed when they are done."""

    def generate():
        yield "\ufeff"
        try:
            for row in rows:
                buffer = io.StringIO()
                csv.writer(buffer).writerow([csv_safe(cell) for cell in row])
                yield buffer.getvalue()
        finally:
            session.close()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
