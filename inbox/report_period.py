"""The period a report page shows: `?since=YYYY-MM-DD&until=YYYY-MM-DD`, shop days, both
included; without them, the last `default_days` up to today in the shop's time zone."""

from __future__ import annotations

from datetime import date, timedelta

from flask import request

from crm.clock import utcnow
from inbox.i18n import shop_zone


def report_period(default_days: int) -> tuple[date, date]:
    """(first day, last day) as asked, a bad or missing date replaced by the default."""
    until = _day("until") or utcnow().astimezone(shop_zone()).date()
    since = _day("since") or until - timedelta(days=default_days - 1)
    return since, until


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
