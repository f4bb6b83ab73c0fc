"""Webhook benchmark: gunicorn on SQLite and PostgreSQL, signed events at rising rates, the
sandbox adding latency to every LINE call. Prints a table; asserts nothing.

    make bench                       # or: .venv/bin/python bench/webhook.py --help
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crm import migrations  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.models import DELIVERY_SENT, EVENT_PENDING, InboundEvent, Interaction  # noqa: E402
from tests import line_payloads as lp  # noqa: E402

SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "bench-access-token"
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent


@dataclass
class Row:
    database: str
    target: str
    rate: int
    sent: int
    acked: int
    ack_rate: float
    p50_ms: float
    p99_ms: float
    processed_rate: float | None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    else:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS line_crm_bench WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE line_crm_bench"))
        admin.dispose()
        url = make_url(PG_ADMIN_URL).set(database="line_crm_bench").render_as_string(False)
    migrations.upgrade(url)
    return url


def gunicorn(app_spec: str, port: int, env: dict[str, str], workers: int, threads: int):
    command = [
        str(BIN / "gunicorn"),
        app_spec,
        "-b",
        f"127.0.0.1:{port}",
        "-w",
        str(workers),
        "-k",
        "gthread",
        "--threads",
        str(threads),
        "--log-level",
        "warning",
        "--backlog",
        "2048",
    ]
    return start(command, env)


async def fire(url: str, bodies: list[bytes], rate: int) -> list[float | None]:
    """Open-loop load: request i leaves at i/rate seconds whatever earlier ones are doing."""
    latencies: list[float | None] = [None] * len(bodies)
    connector = aiohttp.TCPConnector(limit=1000)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()

        async def one(index: int, body: bytes) -> None:
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            headers = {
                "X-Line-Signature": lp.sign(SECRET, body),
                "Content-Type": "application/json",
            }
            try:
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        latencies[index] = time.perf_counter() - sent
            except (TimeoutError, aiohttp.ClientError):
                pass

        await asyncio.gather(*(one(i, b) for i, b in enumerate(bodies)))
    return latencies


def make_bodies(users: list[str], count: int, tokens: dict[str, list[str]]) -> list[bytes]:
    bodies = []
    for index in range(count):
        user = users[index % len(users)]
        event = lp.text(user, "help")
        if tokens.get(user):
            event["replyToken"] = tokens[user].pop()
        bodies.append(lp.body_of(event))
    return bodies


def summarise(db_kind, target, rate, latencies, wall, processed_rate) -> Row:
    ok = [x for x in latencies if x is not None]
    ms = sorted(x * 1000 for x in ok) or [float("nan")]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return Row(
        db_kind,
        target,
        rate,
        len(latencies),
        len(ok),
        len(ok) / wall,
        statistics.median(ms),
        p99,
        processed_rate,
    )


def sent_replies(database: Database) -> int:
    with database.read_session() as session:
        return session.scalar(
            select(func.count())
            .select_from(Interaction)
            .where(Interaction.delivery_status == DELIVERY_SENT)
        )


def wait_processed(database: Database, expected: int, timeout: float) -> float | None:
    """Seconds until `expected` replies are sent, or None on timeout."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if sent_replies(database) >= expected:
            return time.perf_counter() - started
        time.sleep(0.05)
    return None


def sandbox_users(sandbox_url: str, count: int) -> list[str]:
    users = []
    for number in range(count):
        response = requests.post(
            f"{sandbox_url}/_sandbox/users", json={"display_name": f"客{number}"}, timeout=5
        )
        users.append(response.json()["user_id"])
        requests.post(f"{sandbox_url}/_sandbox/users/{users[-1]}/follow", timeout=10)
    return users


def mint_tokens(sandbox_url: str, users: list[str], per_user: int) -> dict[str, list[str]]:
    tokens = {}
    for user in users:
        response = requests.post(
            f"{sandbox_url}/_sandbox/users/{user}/reply-tokens",
            json={"count": per_user},
            timeout=10,
        )
        tokens[user] = response.json()["reply_tokens"] if response.status_code == 200 else []
    return tokens


@dataclass
class Handling:
    """Events stored while no worker ran, then handled by `processes` fresh workers."""

    database: str
    processes: int
    events: int
    rate: float | None
    cpu_ms_per_event: float | None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker_child(pid: int) -> int | None:
    """The worker py-spy runs, if this is py-spy."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if children else None


def stop_worker(process: subprocess.Popen) -> None:
    """Stop a worker; under py-spy, the worker first, so py-spy writes its flame graph."""
    child = worker_child(process.pid)
    if child is not None:
        os.kill(child, signal.SIGTERM)
        process.wait(60)
    stop(process)


def worker_cpu(pid: int) -> float:
    """CPU seconds of a worker, or of the worker under py-spy (its child), py-spy excluded."""
    return cpu_seconds(worker_child(pid) or pid)


def handled_events(database: Database) -> int:
    with database.read_session() as session:
        return session.scalar(
            select(func.count())
            .select_from(InboundEvent)
            .where(InboundEvent.status != EVENT_PENDING)
        )


def start_workers(
    count: int, env: dict[str, str], profile: Path | None = None
) -> list[subprocess.Popen]:
    """`python -m worker` processes; under `py-spy record` (a flame graph each) to profile."""
    command = [str(BIN / "python"), "-m", "worker"]
    if profile is None:
        return [start(command, env) for _ in range(count)]
    spy = [
        str(BIN / "py-spy"),
        "record",
        "--rate",
        "250",
        "--nonblocking",
        "--gil",
        "--format",
        "raw",
    ]
    return [
        start([*spy, "-o", str(profile / f"worker-{n}.txt"), "--", *command], env)
        for n in range(count)
    ]


def measure_acks(kind, args, database, users, app_port, sandbox_url) -> list[Row]:
    """Open-loop load at each rate while one worker handles what it can; then the backlog
    drains before the next rate."""
    rows = []
    for rate in args.rates:
        count = rate * args.seconds
        tokens = mint_tokens(sandbox_url, users, count // len(users) + 1)
        bodies = make_bodies(users, count, tokens)
        before = sent_replies(database)
        started = time.perf_counter()
        latencies = asyncio.run(fire(f"http://127.0.0.1:{app_port}/line/webhook", bodies, rate))
        wall = time.perf_counter() - started
        done = wait_processed(database, before + count, timeout=args.drain_timeout)
        processed_rate = count / (wall + done) if done is not None else None
        rows.append(summarise(kind, "app", rate, latencies, wall, processed_rate))
        print(rows[-1], file=sys.stderr)
    return rows


def measure_handling(kind, args, database, users, app_port, sandbox_url, env) -> list[Handling]:
    """Worker throughput and CPU: a backlog is stored with no worker running, then `n` workers
    start; timed from the first handled event (imports excluded) to the last reply sent."""
    results = []
    for processes in args.event_processes:
        count = args.backlog
        tokens = mint_tokens(sandbox_url, users, count // len(users) + 1)
        bodies = make_bodies(users, count, tokens)
        handled_before, sent_before = handled_events(database), sent_replies(database)
        asyncio.run(fire(f"http://127.0.0.1:{app_port}/line/webhook", bodies, args.backlog_rate))
        workers = start_workers(processes, env, args.profile)
        try:
            deadline = time.monotonic() + 60
            while handled_events(database) == handled_before and time.monotonic() < deadline:
                time.sleep(0.005)
            t0, cpu0 = time.perf_counter(), sum(worker_cpu(w.pid) for w in workers)
            first = handled_events(database) - handled_before
            done = wait_processed(database, sent_before + count, timeout=args.drain_timeout)
            cpu1 = sum(worker_cpu(w.pid) for w in workers)
            wall = time.perf_counter() - t0
        finally:
            for worker in workers:
                stop_worker(worker)
        measured = count - first
        results.append(
            Handling(
                kind,
                processes,
                count,
                measured / wall if done is not None else None,
                (cpu1 - cpu0) * 1000 / measured if done is not None else None,
            )
        )
        print(results[-1], file=sys.stderr)
    return results


def bench_database(kind: str, args, workdir: Path) -> tuple[list[Row], list[Handling]]:
    url = fresh_database(kind, workdir)
    database = Database(url)
    rows: list[Row] = []
    handling: list[Handling] = []
    sandbox_port, app_port, floor_port = free_port(), free_port(), free_port()
    sandbox = start(
        [str(BIN / "python"), "-m", "sandbox"],
        {
            "SANDBOX_PORT": str(sandbox_port),
            "LINE_CHANNEL_SECRET": SECRET,
            "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
            "SANDBOX_WEBHOOK_URL": f"http://127.0.0.1:{app_port}/line/webhook",
        },
    )
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    app_env = {
        "LINE_CHANNEL_SECRET": SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TOKEN,
        "LINE_API_HOST": sandbox_url,
        "DATABASE_URL": url,
        "SECRET_KEY": "b" * 32,
    }
    app = gunicorn("app:create_app()", app_port, app_env, args.workers, args.threads)
    workers = start_workers(1, app_env)
    try:
        wait_http(sandbox_url + "/_sandbox/users")
        wait_http(f"http://127.0.0.1:{app_port}/healthz")
        users = sandbox_users(sandbox_url, args.users)  # follows: customers and profiles exist
        if wait_processed(database, len(users), 60) is None:
            print("warning: warm-up follows were not all answered", file=sys.stderr)
        requests.post(
            f"{sandbox_url}/_sandbox/config", json={"latency_ms": args.latency_ms}, timeout=5
        )
        if args.rates:
            rows += measure_acks(kind, args, database, users, app_port, sandbox_url)
        for worker in workers:
            stop(worker)
        workers = []
        handling = measure_handling(kind, args, database, users, app_port, sandbox_url, app_env)
    finally:
        for process in [app, *workers, sandbox]:
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
        for rate in args.rates:
            bodies = make_bodies([lp.new_user_id() for _ in range(50)], rate * args.seconds, {})
            started = time.perf_counter()
            latencies = asyncio.run(fire(f"http://127.0.0.1:{floor_port}/", bodies, rate))
            rows.append(
                summarise(kind, "floor", rate, latencies, time.perf_counter() - started, None)
            )
            print(rows[-1], file=sys.stderr)
    finally:
        stop(floor)
        database.dispose()
    return rows, handling


def machine_load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) when the run started"


def print_table(rows: list[Row], handling: list[Handling], args, load: str) -> None:
    floor = {(r.database, r.rate): r for r in rows if r.target == "floor"}
    print(
        f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.platform()}; {load}"
    )
    print(
        f"gunicorn: {args.workers} workers x {args.threads} threads (gthread), acknowledging only; "
        f"one `python -m worker` handling events during the rates; sandbox latency "
        f"{args.latency_ms} ms on every LINE call; {args.seconds} s per rate; {args.users} users\n"
    )
    if rows:
        print(
            "| database | rate (ev/s) | acked ev/s | ack p50 ms | ack p99 ms | processed ev/s | floor acked ev/s | floor p99 ms | ack vs floor |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        if row.target != "app":
            continue
        base = floor.get((row.database, row.rate))
        ratio = f"{row.ack_rate / base.ack_rate:.2f}" if base and base.ack_rate else "-"
        processed = f"{row.processed_rate:.0f}" if row.processed_rate else "timeout"
        print(
            f"| {row.database} | {row.rate} | {row.ack_rate:.0f} | {row.p50_ms:.1f} | {row.p99_ms:.1f} | "
            f"{processed} | {base.ack_rate:.0f} | {base.p99_ms:.1f} | {ratio} |"
        )
    print(
        f"\nHandling a stored backlog of {args.backlog} events (a reply each, through the SDK to the "
        f"sandbox), timed from the first handled event to the last reply sent:\n"
    )
    print("| database | worker processes | processed ev/s | worker CPU ms / event |")
    print("|---|---|---|---|")
    for result in handling:
        rate = f"{result.rate:.0f}" if result.rate else "timeout"
        cpu = f"{result.cpu_ms_per_event:.2f}" if result.cpu_ms_per_event else "-"
        print(f"| {result.database} | {result.processes} | {rate} | {cpu} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--rates", default="100,300,500,700")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--event-processes", default="1,2", help="workers for the backlog runs")
    parser.add_argument("--backlog", type=int, default=4000, help="events stored, then handled")
    parser.add_argument("--backlog-rate", type=int, default=600, help="ev/s storing the backlog")
    parser.add_argument("--drain-timeout", type=float, default=180)
    parser.add_argument(
        "--profile",
        type=Path,
        help="run the backlog's workers under py-spy and write raw flame graphs to this folder",
    )
    args = parser.parse_args()
    args.rates = [int(r) for r in args.rates.split(",") if r]
    args.event_processes = [int(n) for n in args.event_processes.split(",")]
    load = machine_load()
    rows: list[Row] = []
    handling: list[Handling] = []
    with tempfile.TemporaryDirectory() as workdir:
        for kind in args.databases.split(","):
            more_rows, more_handling = bench_database(kind, args, Path(workdir))
            rows += more_rows
            handling += more_handling
    print_table(rows, handling, args, load)


if __name__ == "__main__":
    main()
