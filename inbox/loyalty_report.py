"""The loyalty report: stamps per day, cards completed, and per coupon what became of the codes
issued in the period, for a range of shop days, with Chart.js charts."""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, url_for
from flask_babel import gettext as _

from crm.clock import utcnow
from crm.loyalty.reports import MAX_DAYS, LoyaltyReport, loyalty_report
from inbox.i18n import select_language, shop_zone
from inbox.report_period import report_period
from inbox.security import login_required
from request_scope import request_session

bp = Blueprint("inbox_loyalty_report", __name__, url_prefix="/inbox/loyalty")
DEFAULT_DAYS = 30


@bp.get("")
@login_required
def index():
    """Admins land on the stamp cards they manage, agents on the report."""
    if g.staff.is_admin:
        return redirect(url_for("inbox_loyalty_programs.index"))
    return redirect(url_for("inbox_loyalty_report.report"))


@bp.get("/report")
@login_required
def report():
    """?since=YYYY-MM-DD&until=YYYY-MM-DD, shop days, both included (the last 30 by default)."""
    since, until = report_period(DEFAULT_DAYS)
    figures = loyalty_report(request_session(), since, until, shop_zone(), utcnow())
    return render_template(
        "inbox/loyalty/report.html",
        report=figures,
        charts=_charts(figures),
        max_days=MAX_DAYS,
    )


def _charts(report: LoyaltyReport) -> dict:
    """What loyalty-report.js draws, as JSON (labels already in the staff's language)."""
    pattern = "%m/%d" if select_language() == "ja" else "%b %d"
    days = [d.day.strftime(pattern) for d in report.days]
    return {
        "stamps": {
            "labels": days,
            "series": [
                {"label": _("Stamps given"), "data": [d.stamps_given for d in report.days]},
                {"label": _("Taken back"), "data": [d.stamps_revoked for d in report.days]},
            ],
        },
        "cards": {
            "labels": days,
            "series": [
                {"label": _("Cards completed"), "data": [d.cards_completed for d in report.days]}
            ],
        },
        "coupons": {
            "labels": [c.title for c in report.coupons],
            "series": [
                {"label": _("Issued"), "data": [c.issued for c in report.coupons]},
                {"label": _("Used"), "data": [c.redeemed for c in report.coupons]},
                {"label": _("Expired"), "data": [c.expired for c in report.coupons]},
            ],
        },
    }
