"""Campaigns and segments. Parts, chosen with --part (default: all of them):

- `segments`: a shop with 1,000,000 customers (tags, custom fields, follows and blocks over two
  years) and 10,000,000 interactions on PostgreSQL, and 100,000 / 1,000,000 on SQLite; counts
  segments with `crm.segments.count_matching` and prints p50/p95 and the query plan of the
  4-condition segment (goal: under 1 s on PostgreSQL). Prints tables; asserts nothing.

    .venv/bin/python bench/campaigns.py --part segments
    .venv/bin/python bench/campaigns.py --part segments --databases postgresql --customers 200000
    .venv/bin/python bench/campaigns.py --part segments --reuse --explain all   # data kept
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.campaign_delivery import run_delivery  # noqa: E402
from bench.inbox import (  # noqa: E402
    CUSTOMER_COLUMNS,
    DEFINITIONS,
    FAMILY,
    INBOUND_TEXTS,
    OUTBOUND_TEXTS,
    TAGS,
    Writer,
    _cumulative,
    _finish,
    _scaled_counts,
    attribute_rows,
    describe_machine,
    display_name,
    tag_rows,
    writer_lookup,
)
from bench.webhook import PG_ADMIN_URL, fresh_database, machine_load  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.models import Customer  # noqa: E402
from crm.segments import Context, compile_conditions, count_matching  # noqa: E402

DAY = 86400.0
YEARS = 2
GOAL_MS = 1000.0
ACTIVE_DAYS = 150  # mean time a customer keeps writing after following (exponential)
STAGE_CHUNK = 20_000

# ---------------------------------------------------------------- interactions, by code

# (direction, kind, text, payload JSON, sender, delivery status, method, attempts) and weight
Kind = tuple[str, str, str | None, str, str | None, str | None, str | None, int]
FOLLOW, UNFOLLOW, FIRST_TEXT = 0, 1, 5
KINDS: list[tuple[Kind, float]] = [
    (("in", "follow", None, '{"isUnblocked": false}', None, None, None, 0), 0.0),
    (("in", "unfollow", None, "{}", None, None, None, 0), 0.0),
    (("in", "sticker", None, '{"type": "sticker"}', None, None, None, 0), 6.0),
    (("in", "image", None, '{"type": "image"}', None, None, None, 0), 3.0),
    (("in", "postback", "action=menu", '{"data": "action=menu"}', None, None, None, 0), 3.0),
    *[
        (("in", "text", t, '{"type": "text"}', None, None, None, 0), 45.0 / len(INBOUND_TEXTS))
        for t in INBOUND_TEXTS
    ],
    *[
        (("out", "text", t, "{}", "bot", "sent", "reply", 1), 43.0 / len(OUTBOUND_TEXTS))
        for t in OUTBOUND_TEXTS
    ],
]
KIND_CUM = list(_cumulative(weight for _, weight in KINDS))

# ---------------------------------------------------------------- segments

LUNCH = "ランチ, followed > 30 days, contact < 90 days, consent (4 conditions)"
SEGMENTS: dict[str, dict] = {
    LUNCH: {
        "all": [
            {"field": "tag", "op": "has", "value": "ランチ"},
            {"field": "followed_days", "op": "gt", "value": 30},
            {"field": "last_contact_days", "op": "lt", "value": 90},
            {"field": "marketing_consent", "op": "eq", "value": True},
        ]
    },
    "following (1 condition)": {"all": [{"field": "follow_status", "op": "eq", "value": "following"}]},
    "会員ランク gold+, 来店回数 >= 10 (attributes)": {
        "all": [
            {"field": "attribute:rank", "op": "in", "value": ["ゴールド", "プラチナ"]},
            {"field": "attribute:visits", "op": "gte", "value": 10},
        ]
    },
    "常連 or ディナー, last message < 30 days": {
        "all": [
            {
                "any": [
                    {"field": "tag", "op": "has", "value": "常連"},
                    {"field": "tag", "op": "has", "value": "ディナー"},
                ]
            },
            {"field": "last_message_days", "op": "lt", "value": 30},
        ]
    },
    "following, >= 3 messages in 30 days": {
        "all": [
            {"field": "follow_status", "op": "eq", "value": "following"},
            {"field": "messages_in_days", "op": "gte", "value": {"days": 30, "count": 3}},
        ]
    },
}  # fmt: skip


# ---------------------------------------------------------------- the data


@dataclass
class Contacts:
    """Per customer (index = id - 1), what the interactions decided: epoch seconds, NaN if none."""

    followed: array = field(default_factory=lambda: array("d"))
    first: array = field(default_factory=lambda: array("d"))
    last: array = field(default_factory=lambda: array("d"))
    blocked: array = field(default_factory=lambda: array("d"))
    status: list[str] = field(default_factory=list)


def staged_interactions(
    rng: random.Random, customers: int, interactions: int, now: float, contacts: Contacts
) -> Iterator[str]:
    """Tab-separated `customer_id, epoch, kind code` lines, customer by customer; fills
    `contacts`. Follows are spread over two years; a customer writes for a while (exponential,
    mean ACTIVE_DAYS) after following, then goes quiet; some block the account. Everyone has
    at least their follow event (a friend from before the bot: a message; a blocker: the block
    too), so the total is a little over `interactions`. Times are whole seconds, as staged."""
    start, span = now - YEARS * 365 * DAY, YEARS * 365 * DAY
    weights = [
        0.0 if rng.random() < 0.1 else rng.lognormvariate(0.0, 1.0) for _ in range(customers)
    ]
    counts = _scaled_counts(rng, weights, interactions)
    nan = math.nan
    for index, count in enumerate(counts):
        customer_id = index + 1
        followed = float(int(start + span * (index + rng.random()) / customers))
        roll = rng.random()
        status = "following" if roll < 0.85 else "blocked" if roll < 0.97 else "unknown"
        quiet = followed + rng.expovariate(1 / (ACTIVE_DAYS * DAY))
        active_until = max(followed, min(now - 60, quiet))
        count = max(count, 2 if status == "blocked" else 1)
        times = [int(followed + (active_until - followed) * rng.random()) for _ in range(count)]
        codes = [bisect.bisect(KIND_CUM, rng.random() * KIND_CUM[-1]) for _ in range(count)]
        times[0], codes[0] = int(followed), FOLLOW if status != "unknown" else FIRST_TEXT
        blocked_at = nan
        if status == "blocked":  # an hour after the last thing they did
            blocked_at = float(int(min(max(times) + 3600, now - 60)))
            times[-1], codes[-1] = int(blocked_at), UNFOLLOW
        inbound = [t for t, c in zip(times, codes, strict=True) if KINDS[c][0][0] == "in"]
        contacts.followed.append(followed if status != "unknown" else nan)
        contacts.first.append(min(inbound) if inbound else nan)
        contacts.last.append(max(inbound) if inbound else nan)
        contacts.blocked.append(blocked_at)
        contacts.status.append(status)
        for at, code in zip(times, codes, strict=True):
            yield f"{customer_id}\t{at}\t{code}\n"


def customer_rows(rng: random.Random, contacts: Contacts, now: float) -> Iterator[tuple]:
    """One row per customer, as the bot would have left it (CUSTOMER_COLUMNS of bench/inbox)."""
    family_cum = list(_cumulative(w for _, w in FAMILY))

    def when(epoch: float) -> datetime | None:
        return None if math.isnan(epoch) else datetime.fromtimestamp(epoch, UTC)

    for index, status in enumerate(contacts.status):
        name = display_name(rng, family_cum)
        followed = when(contacts.followed[index])
        first, last = when(contacts.first[index]), when(contacts.last[index])
        created = followed or first or datetime.fromtimestamp(now, UTC)
        yield (index + 1, f"U{index + 1:032x}", name, status, followed,
               when(contacts.blocked[index]), 0 if status == "unknown" else 1,
               rng.random() < 0.9, "ok" if name else "unavailable", 1, first, last, created,
               last or created)  # fmt: skip


def _epoch_to_timestamp(dialect: str, column: str) -> str:
    """SQL turning epoch seconds into the column type SQLAlchemy reads back."""
    if dialect == "postgresql":
        return f"to_timestamp({column})"
    return f"strftime('%Y-%m-%d %H:%M:%S', {column}, 'unixepoch') || '.000000'"


def load_interactions(writer: Writer, lines: Iterator[str]) -> int:
    """Stage the lines (COPY on PostgreSQL), then one INSERT … SELECT numbers them in time
    order, as the bot would have inserted them: a customer's rows end up all over the table."""
    raw, dialect = writer.raw, writer.database.dialect
    at = _epoch_to_timestamp(dialect, "s.at")
    payload = "CAST(k.payload AS jsonb)" if dialect == "postgresql" else "k.payload"
    marks = ", ".join(["%s" if dialect == "postgresql" else "?"] * 9)
    with _transaction(writer) as cursor:
        cursor.execute("CREATE TEMP TABLE staged (customer_id bigint, at bigint, code smallint)")
        cursor.execute(
            "CREATE TEMP TABLE kinds (code smallint, direction text, kind text, body text, "
            "payload text, sender text, delivery_status text, delivery_method text, attempts int)"
        )
        codes = [(code, *kind) for code, (kind, _) in enumerate(KINDS)]
        cursor.executemany(f"INSERT INTO kinds VALUES ({marks})", codes)
        staged = _stage(raw, dialect, lines)
        rebuild = _drop_secondary_indexes(cursor, "interactions") if not writer.sqlite else []
        cursor.execute(
            "INSERT INTO interactions (id, customer_id, direction, kind, occurred_at, text, "
            "payload, sender, delivery_status, delivery_method, attempts, sent_at, created_at) "
            "SELECT row_number() OVER (ORDER BY s.at, s.customer_id), s.customer_id, "
            f"k.direction, k.kind, {at}, k.body, {payload}, k.sender, k.delivery_status, "
            f"k.delivery_method, k.attempts, CASE WHEN k.direction = 'out' THEN {at} END, {at} "
            "FROM staged s JOIN kinds k ON k.code = s.code"
        )
        for statement in rebuild:
            cursor.execute(statement)
        cursor.execute("DROP TABLE staged")
        cursor.execute("DROP TABLE kinds")
    return staged


def bulk_rows(writer: Writer, table: str, columns: str, rows: Iterator[tuple]) -> int:
    """`Writer.rows`, with the table's secondary indexes built after the rows on PostgreSQL."""
    if writer.sqlite:
        return writer.rows(table, columns, rows)
    with _transaction(writer) as cursor:
        rebuild = _drop_secondary_indexes(cursor, table)
    written = writer.rows(table, columns, rows)
    with _transaction(writer) as cursor:
        for statement in rebuild:
            cursor.execute(statement)
    return written


def _drop_secondary_indexes(cursor, table: str) -> list[str]:
    """Drop a PostgreSQL table's indexes and unique constraints but its primary key; returns
    the statements that build them again, each in one pass (as pg_restore does): millions of
    rows go in faster without their indexes to keep up to date row by row."""
    cursor.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'u'",
        (table,),
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        (table, table),
    )
    indexes = cursor.fetchall()
    for name, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}'
        for name, definition in constraints
    ]


@contextmanager
def _transaction(writer: Writer) -> Iterator:
    """One transaction on the loading connection (the app's engine leaves pysqlite in
    autocommit mode, so SQLite needs its BEGIN)."""
    cursor = writer.raw.cursor()
    if writer.sqlite:
        cursor.execute("BEGIN")
    yield cursor
    if writer.sqlite:
        cursor.execute("COMMIT")
    else:
        writer.raw.commit()


def _stage(raw, dialect: str, lines: Iterator[str]) -> int:
    written = 0
    if dialect == "postgresql":
        with (
            raw.driver_connection.cursor() as cursor,
            cursor.copy("COPY staged FROM STDIN") as copy,
        ):
            for chunk in _batched(lines, STAGE_CHUNK):
                copy.write("".join(chunk))
                written += len(chunk)
        return written
    cursor = raw.cursor()
    for chunk in _batched(lines, STAGE_CHUNK):
        cursor.executemany("INSERT INTO staged VALUES (?, ?, ?)", [_fields(line) for line in chunk])
        written += len(chunk)
    return written


def _fields(line: str) -> tuple[int, int, int]:
    customer_id, at, code = line.split("\t")
    return int(customer_id), int(at), int(code)


def _batched(items: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def seed_shop(database: Database, customers: int, interactions: int, seed: int) -> dict:
    """Fill an empty, migrated database; returns seconds per phase and `now` (epoch)."""
    rng, now = random.Random(seed), time.time()
    now_dt = datetime.fromtimestamp(now, UTC)
    writer, contacts, timings = Writer(database), Contacts(), {}
    loading(writer, True)

    def phase(name: str, work: Callable[[], int]) -> int:
        started = time.perf_counter()
        count = work()
        timings[name] = (count, time.perf_counter() - started)
        print(f"  {name}: {count:,} rows in {timings[name][1]:.1f} s", flush=True)
        return count

    phase(
        "interactions",
        lambda: load_interactions(
            writer, staged_interactions(rng, customers, interactions, now, contacts)
        ),
    )
    phase(
        "customers",
        lambda: bulk_rows(writer, "customers", CUSTOMER_COLUMNS, customer_rows(rng, contacts, now)),
    )
    tag_ids = writer_lookup(writer, "tags", "name", [(n, "#6b7280", now_dt) for n, _ in TAGS])
    phase(
        "customer_tags",
        lambda: bulk_rows(
            writer,
            "customer_tags",
            "customer_id, tag_id, created_at",
            tag_rows(rng, customers, tag_ids, now_dt),
        ),
    )
    definitions = writer_lookup(
        writer,
        "attribute_definitions",
        "key",
        [
            (key, label, kind, json.dumps(choices, ensure_ascii=False), position, now_dt)
            for position, (key, label, kind, choices, _share) in enumerate(DEFINITIONS)
        ],
    )
    phase(
        "customer_attributes",
        lambda: bulk_rows(
            writer,
            "customer_attributes",
            "customer_id, definition_id, value, updated_at",
            attribute_rows(rng, customers, definitions, now_dt),
        ),
    )
    loading(writer, False)
    writer.close()
    if database.dialect == "postgresql":
        phase("vacuum analyze", lambda: _finish(database) or 0)
    _remember(database, now, customers, interactions, seed)
    return {"now": now, "timings": timings}


def loading(writer: Writer, on: bool) -> None:
    """Settings of the loading connection only (the timed queries get the server's defaults):
    sort in memory, and skip foreign-key checks as pg_restore --disable-triggers does; every
    row's customer exists by construction."""
    connection = writer.raw.driver_connection
    if writer.database.dialect == "sqlite":
        connection.execute(f"PRAGMA foreign_keys = {'OFF' if on else 'ON'}")
        return
    if on:
        connection.execute("SET work_mem = '512MB'")
        connection.execute("SET maintenance_work_mem = '1GB'")
        connection.execute("SET session_replication_role = replica")
    else:
        connection.execute("RESET ALL")
    connection.commit()


def _remember(database: Database, now: float, customers: int, interactions: int, seed: int):
    """What was seeded, so --reuse can time the same data again."""
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_campaigns_seed "
                "(now_epoch float, customers int, interactions int, seed int)"
            )
        )
        conn.execute(
            text("INSERT INTO bench_campaigns_seed VALUES (:n, :c, :i, :s)"),
            {"n": now, "c": customers, "i": interactions, "s": seed},
        )


def seeded_now(database: Database, customers: int, interactions: int, seed: int) -> float | None:
    """`now` of an earlier seeding of the same size, or None."""
    if not inspect(database.engine).has_table("bench_campaigns_seed"):
        return None
    with database.engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM bench_campaigns_seed")).first()
    return row[0] if row and tuple(row[1:]) == (customers, interactions, seed) else None


# ---------------------------------------------------------------- counting


class Explain(Executable, ClauseElement):
    """EXPLAIN of a SQLAlchemy statement, its parameters bound as the app binds them."""

    inherit_cache = False

    def __init__(self, statement):
        self.statement = statement


@compiles(Explain, "postgresql")
def _explain_postgresql(element, compiler, **kw):
    return "EXPLAIN (ANALYZE, BUFFERS) " + compiler.process(element.statement, **kw)


@compiles(Explain, "sqlite")
def _explain_sqlite(element, compiler, **kw):
    return "EXPLAIN QUERY PLAN " + compiler.process(element.statement, **kw)


@dataclass
class Timing:
    """One segment's counts on one database, in milliseconds."""

    database: str
    segment: str
    matches: int
    first: float
    p50: float
    p95: float


def time_segments(database: Database, kind: str, now: datetime, repeat: int) -> list[Timing]:
    """Each segment counted `repeat` times after a first (reported, not in the percentiles)."""
    rows = []
    for name, tree in SEGMENTS.items():
        samples, matches = [], 0
        with database.read_session() as session:
            for _ in range(repeat + 1):
                started = time.perf_counter()
                matches = count_matching(session, tree, now)
                samples.append((time.perf_counter() - started) * 1000)
        ordered = sorted(samples[1:])
        p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
        rows.append(Timing(kind, name, matches, samples[0], statistics.median(ordered), p95))
        print(f"  {name}: {matches:,} match, p50 {rows[-1].p50:.0f} ms", flush=True)
    return rows


def query_plan(database: Database, tree: dict, now: datetime) -> str:
    """The count's SQL and its plan (PostgreSQL: actual times and buffers)."""
    with database.read_session() as session:
        condition = compile_conditions(Context(session, now), tree)
        statement = select(func.count()).select_from(Customer).where(condition)
        sql = str(statement.compile(session.get_bind()))
        plan = session.execute(Explain(statement)).all()
    lines = [str(row[-1]) for row in plan]  # PostgreSQL: the line; SQLite: the step
    return sql + "\n\n" + "\n".join(lines)


# ---------------------------------------------------------------- the part


def segment_database(kind: str, customers: int, args, workdir: Path) -> tuple[str, float]:
    """A seeded database (fresh, or the previous run's with --reuse) and its `now`."""
    interactions = customers * args.interactions_per_customer
    if args.reuse:
        url = _existing_url(kind, workdir)
        database = Database(url)
        now = seeded_now(database, customers, interactions, args.seed)
        database.dispose()
        if now is not None:
            print(f"{kind}: reusing the seeded database", flush=True)
            return url, now
    for leftover in workdir.glob("bench.sqlite3*"):  # fresh_database() keeps an old file
        leftover.unlink()
    url = fresh_database(kind, workdir)
    database = Database(url)
    print(f"{kind}: seeding {customers:,} customers, {interactions:,} interactions", flush=True)
    started = time.perf_counter()
    seeded = seed_shop(database, customers, interactions, args.seed)
    print(f"{kind}: seeded in {time.perf_counter() - started:.1f} s", flush=True)
    database.dispose()
    return url, seeded["now"]


def _existing_url(kind: str, workdir: Path) -> str:
    """Where fresh_database() put it."""
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    return make_url(PG_ADMIN_URL).set(database="line_crm_bench").render_as_string(False)


def run_segments(args) -> None:
    """The segments part: seed, count every segment, print the table and the plans."""
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    scale = {"postgresql": args.customers, "sqlite": args.sqlite_customers}
    chosen = {"all": SEGMENTS, "lunch": {LUNCH: SEGMENTS[LUNCH]}, "none": {}}[args.explain]
    rows, plans = [], []
    with tempfile.TemporaryDirectory(prefix="bench-campaigns-") as temporary:
        workdir = Path(args.workdir or temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        for kind in kinds:
            url, now = segment_database(kind, scale[kind], args, workdir)
            database = Database(url)
            moment = datetime.fromtimestamp(now, UTC)
            rows += time_segments(database, kind, moment, args.repeat)
            plans += [
                (kind, name, query_plan(database, tree, moment)) for name, tree in chosen.items()
            ]
            database.dispose()
    print_segments(rows, plans, args, scale)


def print_segments(rows: list[Timing], plans, args, scale: dict[str, int]) -> None:
    """The machine, the load seen at the start, a Markdown table, then the plans."""
    print(f"\n{args.load}; {describe_machine([r.database for r in rows])}")
    print(
        "customers: "
        + ", ".join(f"{k} {v:,}" for k, v in scale.items() if any(r.database == k for r in rows))
        + f"; {args.interactions_per_customer} interactions per customer; "
        f"{args.repeat} counts per segment after a first; goal p95 < {GOAL_MS:.0f} ms\n"
    )
    print("| database | segment | matches | first ms | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.database} | {r.segment} | {r.matches:,} | {r.first:.0f} | {r.p50:.0f} | "
            f"{r.p95:.0f} |"
        )
    for kind, name, plan in plans:
        print(f"\n{kind}, {name}:\n\n{plan}")


# ---------------------------------------------------------------- main

PARTS: dict[str, Callable] = {"segments": run_segments, "delivery": run_delivery}


def main() -> None:
    """Run the parts chosen with --part (all by default)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", action="append", choices=sorted(PARTS), help="default: all")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--workdir", help="where the SQLite file is kept (default: a temp dir)")
    delivery = parser.add_argument_group("delivery")
    delivery.add_argument(
        "--recipients", type=int, help="default: 1,000,000 on PostgreSQL, 100,000 on SQLite"
    )
    delivery.add_argument("--senders", type=int, default=2, help="sender processes")
    segments = parser.add_argument_group("segments")
    segments.add_argument("--customers", type=int, default=1_000_000, help="on PostgreSQL")
    segments.add_argument("--sqlite-customers", type=int, default=100_000)
    segments.add_argument("--interactions-per-customer", type=int, default=10)
    segments.add_argument("--repeat", type=int, default=10)
    segments.add_argument("--explain", choices=("lunch", "all", "none"), default="lunch")
    segments.add_argument(
        "--reuse",
        action="store_true",
        help="time the data of an earlier run of the same size (SQLite: give --workdir)",
    )
    args = parser.parse_args()
    args.load = machine_load()
    print(args.load, flush=True)
    for part in args.part or PARTS:
        PARTS[part](args)


if __name__ == "__main__":
    main()
