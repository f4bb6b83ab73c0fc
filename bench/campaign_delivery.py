"""A campaign to every friend, through the sandbox over real HTTP: time to write the run's
recipients (one INSERT … SELECT), time to send them with several `python -m scheduler
--sender-only` processes, and end to end until every recipient is recorded with its timeline
entry. LINE allows 200 multicasts a second of 500 users each, so 100,000 recipients a second is
the physical floor; the table prints the ratio to it. The sandbox runs in its own process with
LINE's multicast rate limit (200/s) switched on, so a sender that went faster would see 429s.

    .venv/bin/python bench/campaigns.py --part delivery   # PostgreSQL 1,000,000, SQLite 100,000
    .venv/bin/python bench/campaigns.py --part delivery --recipients 200000 --senders 2
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import requests
from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox import fresh_database  # noqa: E402
from bench.webhook import machine_load  # noqa: E402
from crm.campaigns import CampaignInput, create_campaign  # noqa: E402
from crm.clock import utcnow  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.delivery import start_due_runs  # noqa: E402
from crm.models import Campaign, CampaignRecipient, Interaction  # noqa: E402
from crm.politeness import Politeness, save_politeness  # noqa: E402
from sandbox import SANDBOX_ACCESS_TOKEN, SANDBOX_CHANNEL_SECRET  # noqa: E402

PG_DB = "line_crm_bench_delivery"
LINE_MULTICASTS_PER_SECOND = 200  # LINE's own limit
FLOOR_PER_SECOND = LINE_MULTICASTS_PER_SECOND * 500
USER_BATCH = 100_000
MESSAGE = [{"type": "text", "text": "週末限定：ランチセット10%オフ"}]


@dataclass
class DeliveryRun:
    database: str
    recipients: int
    senders: int
    rate_per_sender: int
    materialise_s: float
    send_s: float
    end_to_end_s: float
    sandbox_usage: int
    throttled: int
    timeline_rows: int

    @property
    def floor_s(self) -> float:
        return self.recipients / FLOOR_PER_SECOND


def user_id(n: int) -> str:
    """The n-th friend's LINE user id, the same in the sandbox and in the database."""
    return "U" + hashlib.md5(f"bench:{n}".encode()).hexdigest()  # noqa: S324 - an id, not a secret


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sandbox(port: int) -> subprocess.Popen:
    env = {**os.environ, "SANDBOX_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{url}/_sandbox/users?limit=1", timeout=1)
            return process
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("the sandbox did not start")


def sandbox_friends(url: str, count: int) -> None:
    for start in range(0, count, USER_BATCH):
        users = [
            {"user_id": user_id(n), "display_name": f"友だち{n}", "friend": True}
            for n in range(start, min(start + USER_BATCH, count))
        ]
        response = requests.post(f"{url}/_sandbox/users/batch", json={"users": users}, timeout=120)
        response.raise_for_status()
    limits = {"rate_limits": {"multicast": LINE_MULTICASTS_PER_SECOND}}
    requests.post(f"{url}/_sandbox/config", json=limits, timeout=5).raise_for_status()


CUSTOMERS_SQL = """
INSERT INTO customers (line_user_id, display_name, follow_status, follow_count,
    marketing_consent, profile_status, profile_attempts, followed_at, created_at, updated_at)
VALUES (:line_user_id, :display_name, 'following', 1, true, 'ok', 0, :at, :at, :at)
"""
CUSTOMERS_PG = """
INSERT INTO customers (line_user_id, display_name, follow_status, follow_count,
    marketing_consent, profile_status, profile_attempts, followed_at, created_at, updated_at)
SELECT 'U' || md5('bench:' || g), '友だち' || g, 'following', 1, true, 'ok', 0,
    now() - interval '100 days', now(), now()
FROM generate_series(0, :count - 1) AS g
"""


def seed(database: Database, count: int) -> None:
    with database.transaction() as session:
        session.execute(text("DELETE FROM topics"))
        if database.dialect == "postgresql":
            session.execute(text(CUSTOMERS_PG), {"count": count})
        else:
            at = utcnow() - timedelta(days=100)
            rows = [
                {"line_user_id": user_id(n), "display_name": f"友だち{n}", "at": at}
                for n in range(count)
            ]
            session.execute(text(CUSTOMERS_SQL), rows)
        save_politeness(session, Politeness(quiet_enabled=False, cap_messages=0))
    if database.dialect == "postgresql":
        with database.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def start_senders(url: str, sandbox: str, senders: int, rate: int) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LINE_CHANNEL_SECRET": SANDBOX_CHANNEL_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": SANDBOX_ACCESS_TOKEN,
        "LINE_API_HOST": sandbox,
        "SECRET_KEY": "b" * 32,
        "CAMPAIGN_MULTICAST_PER_SECOND": str(rate),
        "CAMPAIGN_SENDERS": "2",
    }
    return [
        subprocess.Popen(
            [sys.executable, "-m", "scheduler", "--sender-only"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(senders)
    ]


def sent_count(database: Database) -> int:
    with database.read_session() as session:
        statement = select(func.count()).where(CampaignRecipient.status == "sent")
        return session.scalar(statement.select_from(CampaignRecipient))


def campaign_sent(database: Database) -> bool:
    """The run is closed (cheap to ask; counting a million rows every 0.2 s is not)."""
    with database.read_session() as session:
        return session.scalar(select(Campaign.status)) == "sent"


def one_delivery(kind: str, recipients: int, senders: int, workdir: Path) -> DeliveryRun:
    url = fresh_database(kind, workdir, pg_name=PG_DB, sqlite_name="delivery.sqlite3")
    database = Database(url)
    port = free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    sandbox = start_sandbox(port)
    try:
        sandbox_friends(sandbox_url, recipients)
        seed(database, recipients)
        rate = max(1, 150 // senders)  # together under LINE's 200/s, as the default 150
        processes = start_senders(url, sandbox_url, senders, rate)
        time.sleep(2)  # the senders connect and find nothing to do yet
        with database.transaction() as session:
            data = CampaignInput(name="週末ランチ", messages=MESSAGE)
            create_campaign(session, data, utcnow(), "Asia/Tokyo", schedule=True)
        began = time.perf_counter()
        with database.transaction() as session:
            start_due_runs(session, utcnow(), Politeness(quiet_enabled=False, cap_messages=0))
        materialised = time.perf_counter()
        while not campaign_sent(database):
            time.sleep(0.2)
        finished = time.perf_counter()
        assert sent_count(database) == recipients
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(30)
        usage = requests.get(
            f"{sandbox_url}/v2/bot/message/quota/consumption",
            headers={"Authorization": f"Bearer {SANDBOX_ACCESS_TOKEN}"},
            timeout=30,
        ).json()["totalUsage"]
        log = requests.get(f"{sandbox_url}/_sandbox/requests", timeout=60).json()["requests"]
        throttled = sum(1 for r in log if r["status"] == 429)
        with database.read_session() as session:
            timeline = session.scalar(
                select(func.count())
                .select_from(Interaction)
                .where(Interaction.sender == "campaign")
            )
    finally:
        sandbox.terminate()
        sandbox.wait(30)
        database.dispose()
    return DeliveryRun(
        database=kind,
        recipients=recipients,
        senders=senders,
        rate_per_sender=rate,
        materialise_s=materialised - began,
        send_s=finished - materialised,
        end_to_end_s=finished - began,
        sandbox_usage=usage,
        throttled=throttled,
        timeline_rows=timeline,
    )


def print_delivery(runs: list[DeliveryRun], load: str) -> None:
    print(
        f"\nCampaign delivery through the sandbox (floor: {FLOOR_PER_SECOND:,} recipients/s); {load}"
    )
    print(
        "| database | recipients | senders × rate | materialise | sending | end to end "
        "| sending ÷ floor | delivered (sandbox) | timeline rows | 429s |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        print(
            f"| {run.database} | {run.recipients:,} | {run.senders} × {run.rate_per_sender}/s "
            f"| {run.materialise_s:.1f} s | {run.send_s:.1f} s | {run.end_to_end_s:.1f} s "
            f"| {run.send_s / run.floor_s:.1f}× | {run.sandbox_usage:,} | {run.timeline_rows:,} "
            f"| {run.throttled} |"
        )


def run_delivery(args) -> None:
    load = machine_load()
    runs = []
    with tempfile.TemporaryDirectory() as workdir:
        for kind in [k.strip() for k in args.databases.split(",") if k.strip()]:
            count = args.recipients or (1_000_000 if kind == "postgresql" else 100_000)
            runs.append(one_delivery(kind, count, args.senders, Path(workdir)))
            print_delivery(runs[-1:], load)
    print_delivery(runs, load)
