"""The questions-and-inquiries report (any staff): questions per day by what the FAQ did, the
questions it could not answer, and how fast staff respond and resolve, with Chart.js charts."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, g, redirect, render_template, url_for
from flask_babel import gettext as _

from crm.inquiries.reports import MAX_DAYS, InquiryReport, ResponseTimes, inquiry_report
from inbox.i18n import select_language, shop_zone
from inbox.report_period import report_period
from inbox.security import login_required
from request_scope import request_session

bp = Blueprint("inbox_inquiry_report", __name__, url_prefix="/inbox/inquiries")
DEFAULT_DAYS = 8 * 7


@bp.app_template_filter("duration")
def duration(value: timedelta | None) -> str:
    """A response time as staff read it: 45 s, 12 min, 3.5 h, 2.1 d."""
    if value is None:
        return "–"
    seconds = value.total_seconds()
    if seconds < 60:
        return _("%(count)s s", count=round(seconds))
    if seconds < 3600:
        return _("%(count)s min", count=round(seconds / 60))
    if seconds < 48 * 3600:
        return _("%(count)s h", count=_one_decimal(seconds / 3600))
    return _("%(count)s d", count=_one_decimal(seconds / 86400))


def _one_decimal(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _week_label(row: ResponseTimes) -> str:
    pattern = "%Y/%m/%d" if select_language() == "ja" else "%b %d, %Y"
    return date.fromisoformat(row.label).strftime(pattern)


@bp.context_processor
def _labels() -> dict:
    """How the time tables name their rows."""
    return {
        "week_label": _week_label,
        "category_label": lambda row: row.label or _("(none)"),
        "staff_label": lambda row: row.label,
    }


@bp.get("")
@login_required
def index():
    """Admins land on the FAQs they manage, agents on the report."""
    if g.staff.is_admin:
        return redirect(url_for("inbox_faqs.index"))
    return redirect(url_for("inbox_inquiry_report.report"))


@bp.get("/report")
@login_required
def report():
    """?since=YYYY-MM-DD&until=YYYY-MM-DD, shop days, both included (the last 8 weeks)."""
    since, until = report_period(DEFAULT_DAYS)
    figures = inquiry_report(request_session(), since, until, shop_zone())
    return render_template(
        "inbox/inquiry/report.html",
        report=figures,
        charts=_charts(figures),
        max_days=MAX_DAYS,
    )


def _minutes(value: timedelta | None) -> float | None:
    return round(value.total_seconds() / 60, 1) if value is not None else None


def _hours(value: timedelta | None) -> float | None:
    return round(value.total_seconds() / 3600, 2) if value is not None else None


def _week_lines(weeks: list[ResponseTimes], part: str, unit) -> list[dict]:
    return [
        {"label": _("Median"), "data": [unit(getattr(w, part).median) for w in weeks]},
        {"label": _("90th percentile"), "data": [unit(getattr(w, part).p90) for w in weeks]},
    ]


def _charts(report: InquiryReport) -> dict:
    """What inquiry-report.js draws, as JSON (labels already in the staff's language)."""
    pattern = "%m/%d" if select_language() == "ja" else "%b %d"
    weeks = [date.fromisoformat(w.label).strftime(pattern) for w in report.weeks]
    return {
        "questions": {
            "labels": [d.day.strftime(pattern) for d in report.days],
            "series": [
                {"label": _("Answered by an FAQ"), "data": [d.answered for d in report.days]},
                {"label": _("Suggested"), "data": [d.suggested for d in report.days]},
                {"label": _("Handed to staff"), "data": [d.handed_off for d in report.days]},
            ],
            "line": {"label": _("Solved by the FAQ"), "data": [d.deflected for d in report.days]},
        },
        "first_response": {
            "labels": weeks,
            "unit": _("minutes"),
            "series": _week_lines(report.weeks, "first_response", _minutes),
        },
        "resolution": {
            "labels": weeks,
            "unit": _("hours"),
            "series": _week_lines(report.weeks, "resolution", _hours),
        },
    }
