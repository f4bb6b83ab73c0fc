"""Surveys: the results page and the CSV export of a survey with many completed runs, and the
cost of handling survey answers against plain text messages (in-process, as bench/handling.py).
Prints tables; asserts nothing.

    .venv/bin/python bench/surveys.py [--runs 100000] [--repeat 20] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox import PASSWORD, signed_in_client  # noqa: E402
from bench.webhook import fresh_database, machine_load  # noqa: E402
from bot.handling import handle_pending_events  # noqa: E402
from crm.clock import utcnow  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.flows import newest_version  # noqa: E402
from crm.inbound_events import store_events  # noqa: E402
from crm.models import Customer, FlowAnswer, FlowRun  # noqa: E402
from crm.staff import create_staff  # noqa: E402
from crm.surveys import create_survey  # noqa: E402
from tests import line_payloads as lp  # noqa: E402

QUESTIONS = [
    {
        "key": "scene",
        "text": "ご利用シーンは？",
        "type": "single_choice",
        "choices": [
            {"label": "ランチ", "value": "lunch"},
            {"label": "ディナー", "value": "dinner"},
            {"label": "テイクアウト", "value": "takeout"},
        ],
    },
    {"key": "rating", "text": "満足度は？", "type": "rating"},
    {"key": "nps", "text": "おすすめ度は？", "type": "nps"},
    {"key": "comment", "text": "ご意見", "type": "text"},
]
BATCH = 10_000


def seed_results(url: str, runs: int) -> int:
    """A survey with `runs` completed runs over the last 180 days, one customer each."""
    db = Database(url)
    rng = random.Random(7)
    with db.transaction() as session:
        create_staff(session, "admin@shop.example", PASSWORD, "admin", "店長")
        survey = create_survey(session, "来店アンケート", QUESTIONS, keyword="来店")
        survey_id, version_id = survey.id, newest_version(session, survey).id
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        for start in range(1, runs + 1, BATCH):
            ids = range(start, min(start + BATCH, runs + 1))
            times = {i: now - timedelta(minutes=rng.randrange(180 * 24 * 60)) for i in ids}
            conn.execute(insert(Customer), [_customer(i, times[i]) for i in ids])
            conn.execute(insert(FlowRun), [_run(i, survey_id, version_id, times[i]) for i in ids])
            answers = [row for i in ids for row in _answers(rng, i, survey_id, times[i])]
            conn.execute(insert(FlowAnswer), answers)
    db.dispose()
    return survey_id


def _customer(i: int, at: datetime) -> dict:
    return {
        "id": i,
        "line_user_id": f"U{i:032x}",
        "display_name": f"客{i}",
        "follow_status": "following",
        "created_at": at,
        "updated_at": at,
    }


def _run(i: int, survey_id: int, version_id: int, at: datetime) -> dict:
    return {
        "id": i,
        "customer_id": i,
        "flow_id": survey_id,
        "version_id": version_id,
        "status": "completed",
        "step_key": None,
        "reasks": 0,
        "selected": [],
        "trigger": "keyword",
        "started_at": at,
        "last_activity_at": at,
        "expires_at": at + timedelta(hours=24),
        "finished_at": at + timedelta(minutes=2),
    }


def _answers(rng: random.Random, i: int, survey_id: int, at: datetime) -> list[dict]:
    values = {
        "scene": rng.choice(["lunch", "lunch", "dinner", "takeout"]),
        "rating": rng.choice([5, 4, 4, 3, 2, 1]),
        "nps": rng.randrange(11),
        "comment": rng.choice(["美味しかった", "また来ます", "待ち時間が長い", None]),
    }
    return [
        {"run_id": i, "flow_id": survey_id, "step_key": k, "value": v, "answered_at": at}
        for k, v in values.items()
    ]


def time_results(url: str, survey_id: int, repeat: int) -> list[tuple[str, float, float, float]]:
    _app, client = signed_in_client(url)
    since = (datetime.now(UTC) - timedelta(days=30)).date().isoformat()
    requests = [
        ("results page, all time", f"/inbox/surveys/{survey_id}"),
        ("results page, last 30 days", f"/inbox/surveys/{survey_id}?since={since}"),
        ("CSV export, all runs", f"/inbox/surveys/{survey_id}/export.csv"),
    ]
    rows = []
    for name, path in requests:
        times = []
        for _ in range(3 if "CSV" in name else repeat):
            start = time.perf_counter()
            answer = client.get(path)
            answer.get_data()  # a streamed export is produced while read
            assert answer.status_code == 200, (path, answer.status_code)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        rows.append((name, statistics.median(times), p95, times[-1]))
    return rows


def handling_ratio(url: str, users: int, answers_each: int) -> tuple[float, float]:
    """CPU ms per event: texts answered by the bot ("help", as bench/webhook.py sends), then
    survey answers from as many customers, each in a run of a long rating survey (every answer
    is answered by the next question)."""
    db = Database(url)
    try:
        long_survey = [
            {"key": f"q{n}", "text": f"質問{n}", "type": "rating"} for n in range(answers_each + 1)
        ]
        with db.transaction() as session:
            create_survey(session, "長い", long_survey, keyword="長い")
        plain = [lp.new_user_id() for _ in range(users)]
        answering = [lp.new_user_id() for _ in range(users)]
        _handle(db, [lp.follow(u) for u in plain + answering])
        _handle(db, [lp.text(u, "長い") for u in answering])  # each in a run now
        plain_cpu = _handle(
            db, [lp.text(plain[n % users], "help") for n in range(users * answers_each)]
        )
        answer_cpu = _handle(
            db, [lp.text(answering[n % users], "4") for n in range(users * answers_each)]
        )
        return plain_cpu, answer_cpu
    finally:
        db.dispose()


def _handle(db: Database, events: list[dict]) -> float:
    with db.transaction() as session:
        store_events(session, None, events, utcnow())
    cpu = time.process_time()
    handled = 0
    while count := handle_pending_events(db):
        handled += count
    return (time.process_time() - cpu) * 1000 / max(handled, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--answers-each", type=int, default=10)
    args = parser.parse_args()
    load = machine_load()
    results, ratios = [], []
    with tempfile.TemporaryDirectory() as workdir:
        for kind in args.databases.split(","):
            folder = Path(workdir) / f"{kind}-results"
            folder.mkdir()
            url = fresh_database(kind, folder)
            started = time.perf_counter()
            survey_id = seed_results(url, args.runs)
            seeded = time.perf_counter() - started
            results += [(kind, *row) for row in time_results(url, survey_id, args.repeat)]
            print(f"{kind}: seeded {args.runs} runs in {seeded:.0f} s", file=sys.stderr)
            folder = Path(workdir) / f"{kind}-handling"
            folder.mkdir()
            url = fresh_database(kind, folder)
            ratios.append((kind, *handling_ratio(url, args.users, args.answers_each)))
    print(f"\n{load}; {args.runs} completed runs of a 4-question survey, {args.repeat} rounds\n")
    print("| database | request | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    for kind, name, p50, p95, worst in results:
        print(f"| {kind} | {name} | {p50:.1f} | {p95:.1f} | {worst:.1f} |")
    print(f"\nHandling in-process, {args.users} customers x {args.answers_each} events each:\n")
    print(
        "| database | plain text CPU ms / event | survey answer CPU ms / event | answers / plain (ev/s) |"
    )
    print("|---|---|---|---|")
    for kind, plain, answer in ratios:
        print(f"| {kind} | {plain:.3f} | {answer:.3f} | {plain / answer:.2f} |")


if __name__ == "__main__":
    main()
