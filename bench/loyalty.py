"""Loyalty benchmark: stamps granted per second through `POST /api/v1/customers/<id>/stamps`
(gunicorn, as in production), a few POS terminals at once, each grant for another customer with
its own idempotency key; p50/p95/p99 latency; and the webhook floor (bench/floor.py: a signature
check and one INSERT) under the same load in the same run, on PostgreSQL and SQLite. Prints a
table; asserts nothing.

The customers hold default cards with 0-9 stamps from earlier days, so about one grant in ten
fills a card: the reward coupon is issued, a new card starts, and the push carries the coupon.
Pushes are queued in the outbox; with --worker a worker sends them to the sandbox meanwhile.

    .venv/bin/python bench/loyalty.py [--databases postgresql,sqlite] [--terminals 2,8]
    .venv/bin/python bench/loyalty.py --worker --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import requests
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox import describe_machine, fresh_database  # noqa: E402
from bench.webhook import (  # noqa: E402
    BIN,
    SECRET,
    TOKEN,
    free_port,
    gunicorn,
    machine_load,
    start,
    start_workers,
    stop,
    wait_http,
)
from crm.api_tokens import create_api_token  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.loyalty.models import StampCard, StampEntry  # noqa: E402
from crm.loyalty.programs import default_program  # noqa: E402
from crm.models import Customer, Interaction  # noqa: E402
from tests import line_payloads as lp  # noqa: E402

PG_DB = "line_crm_bench_loyalty"
GOAL_RATE = 300.0  # grants a second on PostgreSQL
GOAL_P99_MS = 100.0
CHUNK = 5000


@dataclass
class Load:
    """One closed-loop run: every terminal sends its next request when the last is answered."""

    database: str
    target: str
    terminals: int
    sent: int
    ok: int
    errors: dict[int, int]
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.ok / self.seconds


def seed(url: str, customers: int, rng: random.Random) -> tuple[str, list[int]]:
    """Customers with default cards of 0-9 stamps given two days ago; returns an API token and
    the customers' ids."""
    database = Database(url)
    earlier = datetime.now(UTC) - timedelta(days=2)
    with database.transaction() as session:
        program_id = default_program(session).id
        _token, plain = create_api_token(session, "bench POS")
    ids: list[int] = []
    for first in range(0, customers, CHUNK):
        with database.transaction() as session:
            batch = _rows(
                session, program_id, range(first, min(first + CHUNK, customers)), rng, earlier
            )
            ids += batch
    database.dispose()
    return plain, ids


def _rows(session, program_id: int, numbers: range, rng: random.Random, at: datetime) -> list[int]:
    """One chunk of customers, their cards and the ledger rows the cards' stamps came from."""
    people = [{"line_user_id": f"U{n:032x}", "follow_status": "following"} for n in numbers]
    ids = list(
        session.scalars(
            insert(Customer).returning(Customer.id, sort_by_parameter_order=True), people
        )
    )
    stamps = [rng.randrange(10) for _ in ids]
    cards = [_card(i, program_id, s, at) for i, s in zip(ids, stamps, strict=True)]
    card_ids = list(
        session.scalars(
            insert(StampCard).returning(StampCard.id, sort_by_parameter_order=True), cards
        )
    )
    entries = [
        _entry(card_id, i, program_id, s, at)
        for card_id, i, s in zip(card_ids, ids, stamps, strict=True)
        if s
    ]
    if entries:
        session.execute(insert(StampEntry), entries)
    return ids


def _card(customer_id: int, program_id: int, stamps: int, at: datetime) -> dict:
    return {
        "program_id": program_id,
        "customer_id": customer_id,
        "number": 1,
        "stamps": stamps,
        "status": "active",
        "first_stamp_at": at if stamps else None,
        "last_stamp_at": at if stamps else None,
        "expires_at": at + timedelta(days=365) if stamps else None,
        "created_at": at,
    }


def _entry(card_id: int, customer_id: int, program_id: int, stamps: int, at: datetime) -> dict:
    return {
        "card_id": card_id,
        "customer_id": customer_id,
        "program_id": program_id,
        "kind": "grant",
        "delta": stamps,
        "balance_after": stamps,
        "via": "staff",
        "occurred_at": at,
    }


async def closed_loop(
    terminals: int, seconds: float, request: Callable[[aiohttp.ClientSession], object]
) -> tuple[list[float], dict[int, int], float]:
    """`terminals` clients each sending requests back to back for `seconds`; returns the
    latencies of successes, the count of each other status, and the wall time."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=terminals)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def terminal() -> None:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                status = await request(session)
                if status in (200, 201):
                    latencies.append(time.perf_counter() - sent)
                else:
                    errors[status] = errors.get(status, 0) + 1

        await asyncio.gather(*(terminal() for _ in range(terminals)))
        wall = time.perf_counter() - started
    return latencies, errors, wall


def summarise(database: str, target: str, terminals: int, latencies, errors, wall) -> Load:
    """One run's rate and latency percentiles."""
    ms = sorted(x * 1000 for x in latencies) or [float("nan")]

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(len(ms) * p))]

    return Load(
        database,
        target,
        terminals,
        len(latencies) + sum(errors.values()),
        len(latencies),
        errors,
        wall,
        statistics.median(ms),
        pct(0.95),
        pct(0.99),
    )


def grant_requests(base: str, token: str, customers, run: str):
    """A request function giving one stamp to the next customer, with a key of its own."""
    headers = {"Authorization": f"Bearer {token}"}
    numbers = itertools.count()

    async def grant(session: aiohttp.ClientSession) -> int:
        n = next(numbers)
        customer_id = next(customers)
        body = {"count": 1, "idempotency_key": f"{run}-{n}"}
        url = f"{base}/api/v1/customers/{customer_id}/stamps"
        try:
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                return response.status
        except (TimeoutError, aiohttp.ClientError):
            return 0

    return grant


def floor_requests(base: str):
    """A request function posting a signed one-event webhook to the floor app."""

    async def post(session: aiohttp.ClientSession) -> int:
        body = lp.body_of(lp.text(lp.new_user_id(), "help"))
        headers = {"X-Line-Signature": lp.sign(SECRET, body), "Content-Type": "application/json"}
        try:
            async with session.post(base + "/", data=body, headers=headers) as response:
                await response.read()
                return response.status
        except (TimeoutError, aiohttp.ClientError):
            return 0

    return post


def granted(url: str) -> int:
    """Grants the API wrote (the seeded rows came `via` staff)."""
    database = Database(url)
    with database.read_session() as session:
        count = session.scalar(
            select(func.count()).select_from(StampEntry).where(StampEntry.via == "api")
        )
    database.dispose()
    return count


def bench_database(kind: str, args, workdir: Path) -> list[Load]:
    """Seed, time the grants at each number of terminals, then the floor."""
    url = fresh_database(kind, workdir, pg_name=PG_DB, sqlite_name="loyalty.sqlite3")
    rng = random.Random(args.seed)
    token, ids = seed(url, args.customers, rng)
    print(f"{kind}: seeded {args.customers:,} customers with cards", flush=True)
    rng.shuffle(ids)
    customers = iter(ids)
    app_port, floor_port, sandbox_port = free_port(), free_port(), free_port()
    env = {
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_HOST": f"http://127.0.0.1:{sandbox_port}",
        "DATABASE_URL": url,
        "SECRET_KEY": "b" * 32,
        "PUBLIC_BASE_URL": "https://crm.example.jp",
    }
    processes = [gunicorn("app:create_app()", app_port, env, args.workers, args.threads)]
    if args.worker:
        processes.append(start([str(BIN / "python"), "-m", "sandbox"], _sandbox_env(sandbox_port)))
        processes += start_workers(1, env)
    base = f"http://127.0.0.1:{app_port}"
    rows = []
    try:
        wait_http(base + "/healthz")
        if args.worker:
            sandbox_friends(f"http://127.0.0.1:{sandbox_port}", args.customers)
        warm = grant_requests(base, token, customers, f"warm-{kind}")
        asyncio.run(closed_loop(max(args.terminals), args.warmup, warm))
        for terminals in args.terminals:
            before = granted(url)
            grant = grant_requests(base, token, customers, f"run-{kind}-{terminals}")
            result = asyncio.run(closed_loop(terminals, args.seconds, grant))
            rows.append(summarise(kind, "grants", terminals, *result))
            written = granted(url) - before
            if written != rows[-1].ok:
                print(f"warning: {rows[-1].ok} answers of 201, {written} grants", file=sys.stderr)
        if args.worker:
            print(f"{kind}: pushes by delivery status {push_outcomes(url)}", file=sys.stderr)
    finally:
        for process in processes:
            stop(process)
    floor = gunicorn(
        "bench.floor:create_floor_app()",
        floor_port,
        {"LINE_CHANNEL_SECRET": SECRET, "DATABASE_URL": url},
        args.workers,
        args.threads,
    )
    try:
        wait_http(f"http://127.0.0.1:{floor_port}/")
        post = floor_requests(f"http://127.0.0.1:{floor_port}")
        asyncio.run(closed_loop(max(args.terminals), args.warmup, post))
        for terminals in args.terminals:
            result = asyncio.run(closed_loop(terminals, args.seconds, post))
            rows.append(summarise(kind, "floor", terminals, *result))
    finally:
        stop(floor)
    for row in rows:
        print(row, file=sys.stderr)
    return rows


def push_outcomes(url: str) -> dict[str, int]:
    """Outbound messages by delivery status (with --worker: were the pushes sent?)."""
    database = Database(url)
    with database.read_session() as session:
        rows = session.execute(
            select(Interaction.delivery_status, func.count())
            .where(Interaction.direction == "out")
            .group_by(Interaction.delivery_status)
        ).all()
    database.dispose()
    return dict(rows)


def sandbox_friends(sandbox_url: str, customers: int) -> None:
    """The seeded customers as friends of the sandbox's account, so their pushes arrive."""
    wait_http(sandbox_url + "/_sandbox/users")
    for first in range(0, customers, CHUNK):
        users = [
            {"user_id": f"U{n:032x}", "display_name": f"客{n}", "friend": True}
            for n in range(first, min(first + CHUNK, customers))
        ]
        response = requests.post(
            f"{sandbox_url}/_sandbox/users/batch", json={"users": users}, timeout=120
        )
        response.raise_for_status()


def _sandbox_env(port: int) -> dict[str, str]:
    return {
        "SANDBOX_PORT": str(port),
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "SANDBOX_WEBHOOK_URL": "http://127.0.0.1:9/unused",
    }


def print_table(rows: list[Load], args, load: str) -> None:
    """The machine, the load at the start, and the Markdown table."""
    kinds = list(dict.fromkeys(r.database for r in rows))
    print(f"\nmachine: {describe_machine(kinds)}; {load}")
    print(
        f"gunicorn: {args.workers} workers x {args.threads} threads (gthread); terminals sending "
        f"back to back for {args.seconds:g} s each after {args.warmup:g} s of warm-up; "
        f"{args.customers:,} customers; pushes "
        + ("sent to the sandbox by one worker meanwhile" if args.worker else "queued, not sent")
        + f"; goal on PostgreSQL >= {GOAL_RATE:.0f} grants/s with p99 < {GOAL_P99_MS:.0f} ms\n"
    )
    print(
        "| database | terminals | grants/s | p50 ms | p95 ms | p99 ms | errors | floor req/s "
        "| floor p99 ms | grants ÷ floor | goal |"
    )
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|")
    floors = {(r.database, r.terminals): r for r in rows if r.target == "floor"}
    for grants in (r for r in rows if r.target == "grants"):
        floor = floors[(grants.database, grants.terminals)]
        met = grants.rate >= GOAL_RATE and grants.p99_ms < GOAL_P99_MS
        goal = ("met" if met else "missed") if grants.database == "postgresql" else "-"
        errors = ", ".join(f"{n}×{s}" for s, n in sorted(grants.errors.items())) or "none"
        print(
            f"| {grants.database} | {grants.terminals} | {grants.rate:.0f} | {grants.p50_ms:.1f} | "
            f"{grants.p95_ms:.1f} | {grants.p99_ms:.1f} | {errors} | {floor.rate:.0f} | "
            f"{floor.p99_ms:.1f} | {grants.rate / floor.rate:.2f} | {goal} |"
        )


def main() -> None:
    """Run every database named and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--terminals", default="2,8", help="POS terminals at once, one run each")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--customers", type=int, default=40_000, help="more than the grants")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--worker", action="store_true", help="send the pushes meanwhile")
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    args.terminals = [int(n) for n in args.terminals.split(",") if n]
    load = machine_load()
    print(load, flush=True)
    rows: list[Load] = []
    with tempfile.TemporaryDirectory(prefix="bench-loyalty-") as workdir:
        for kind in args.databases.split(","):
            rows += bench_database(kind.strip(), args, Path(workdir))
    print_table(rows, args, load)


if __name__ == "__main__":
    main()
