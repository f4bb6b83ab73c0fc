"""The backlog is visible: /healthz, /metrics in Prometheus' format, the inbox's delay banner."""

from datetime import timedelta

import time_machine
from prometheus_client.parser import text_string_to_metric_families

from crm.clock import utcnow
from tests import line_payloads as lp
from tests import sandbox_admin as sb


def _metrics(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_show_waiting_events_then_handled_ones(client, post_events, line, work):
    users = [sb.create_user(line, f"客{n}") for n in range(3)]
    post_events(*[lp.text(user, "こんにちは") for user in users])
    with time_machine.travel(utcnow() + timedelta(seconds=30), tick=False):
        waiting = _metrics(client)
    assert waiting[("line_crm_events_received_total", ())] == 3
    assert waiting[("line_crm_events_pending", ())] == 3
    assert 29 <= waiting[("line_crm_events_oldest_pending_age_seconds", ())] <= 31
    assert ("line_crm_events_handled_total", (("status", "done"),)) not in waiting

    work()
    handled = _metrics(client)
    assert handled[("line_crm_events_pending", ())] == 0
    assert handled[("line_crm_events_oldest_pending_age_seconds", ())] == 0
    assert handled[("line_crm_events_handled_total", (("status", "done"),))] == 3
    assert handled[("line_crm_outbox_messages", (("status", "pending"),))] == 0


def test_metrics_count_line_errors_by_status(client, post_events, line, work):
    user = sb.create_user(line, "エラー")
    sb.add_fault(line, endpoint="reply", status=500, count=None)
    sb.add_fault(line, endpoint="push", status=500, count=None)
    post_events(lp.text(user, "help"))
    work()
    metrics = _metrics(client)
    assert metrics[("line_crm_line_errors", (("status", "500"),))] == 1
    assert metrics[("line_crm_outbox_messages", (("status", "pending"),))] == 1

    health = client.get("/healthz").get_json()
    assert health["events"] == {"done": 1}
    assert health["outbox"] == {"pending": 1, "sending": 0}
    assert health["line_errors"] == {"500": 1}
    assert health["replies_delayed"] is False


def test_inbox_banner_when_customers_wait_more_than_a_minute(admin_client, post_events, line):
    user = sb.create_user(line, "待ち")
    banner = "ワーカー（python -m worker）"
    assert banner not in admin_client.get("/inbox/conversations").text
    post_events(lp.text(user, "まだですか"))  # no worker is running
    assert banner not in admin_client.get("/inbox/conversations").text
    with time_machine.travel(utcnow() + timedelta(seconds=61), tick=False):
        assert banner in admin_client.get("/inbox/conversations").text
        assert admin_client.get("/healthz").get_json()["replies_delayed"] is True
