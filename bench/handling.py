"""Event handling in-process: CPU milliseconds per event of `handle_pending_events` over a
stored backlog, on SQLite and PostgreSQL, LINE left out (replies stay queued). Steadier than
`bench/webhook.py`, which shares the cores with gunicorn, the sandbox and the load generator.
Two workloads in the same invocation: `hello` (こんにちは to a shop without FAQs: the
acknowledgement path, the baseline) and `questions` (the evaluation set's customer questions to
the sample café's 31 FAQs: matching, lookups, answers, suggestions and inquiries).
Prints a table; asserts nothing.

    .venv/bin/python bench/handling.py [--events 4000] [--repeat 3] [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.webhook import fresh_database, machine_load  # noqa: E402
from bot.handling import EVENTS_PER_LANE, LANES_PER_ROUND, handle_pending_events  # noqa: E402
from crm.clock import utcnow  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.faq.samples import add_sample_faqs  # noqa: E402
from crm.inbound_events import store_events  # noqa: E402
from tests import line_payloads as lp  # noqa: E402


def handle_all(db: Database) -> int:
    handled = 0
    while count := handle_pending_events(db):
        handled += count
    return handled


QUESTIONS = [
    json.loads(line)["text"]
    for line in (ROOT / "tests/data/faq_questions.jsonl").read_text().splitlines()
    if line.strip()
]
WORKLOADS = {"hello": ["こんにちは"], "questions": QUESTIONS}


def one_run(url: str, users: int, events: int, workload: str) -> tuple[float, float]:
    """CPU and wall milliseconds per event for `events` text messages from `users` followers."""
    db = Database(url)
    try:
        user_ids = [lp.new_user_id() for _ in range(users)]
        with db.transaction() as session:
            store_events(session, None, [lp.follow(u) for u in user_ids], utcnow())
            if workload == "questions":
                add_sample_faqs(session)
        handle_all(db)  # customers and their chats exist, as in a running shop
        texts = WORKLOADS[workload]
        messages = [lp.text(user_ids[n % users], texts[n % len(texts)]) for n in range(events)]
        with db.transaction() as session:
            store_events(session, None, messages, utcnow())
        cpu, wall = time.process_time(), time.perf_counter()
        handled = handle_all(db)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        return cpu * 1000 / handled, wall * 1000 / handled
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    load = machine_load()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for kind in args.databases.split(","):
            for workload in WORKLOADS:
                runs = []
                for n in range(args.repeat):
                    folder = Path(workdir) / f"{kind}-{workload}-{n}"  # a new SQLite file each run
                    folder.mkdir()
                    url = fresh_database(kind, folder)
                    runs.append(one_run(url, args.users, args.events, workload))
                rows.append((kind, workload, runs))
    print(f"\n{load}; rounds of {LANES_PER_ROUND} lanes x {EVENTS_PER_LANE} events")
    print(f"{args.events} text events from {args.users} followers, median of {args.repeat} runs\n")
    print("| database | workload | CPU ms / event | wall ms / event | CPU vs hello | runs (CPU) |")
    print("|---|---|---|---|---|---|")
    baseline = {}
    for kind, workload, runs in rows:
        cpu = statistics.median(r[0] for r in runs)
        wall = statistics.median(r[1] for r in runs)
        baseline.setdefault(kind, cpu)
        each = ", ".join(f"{r[0]:.3f}" for r in runs)
        ratio = cpu / baseline[kind]
        print(f"| {kind} | {workload} | {cpu:.3f} | {wall:.3f} | {ratio:.2f}x | {each} |")


if __name__ == "__main__":
    main()
