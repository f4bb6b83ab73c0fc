"""Staff-inbox benchmark: a shop with many customers and a long history, on SQLite and
PostgreSQL; times the server side of the inbox's read pages through the real Flask app, with a
signed-in admin. Prints a table; asserts nothing.

    make bench                       # or: .venv/bin/python bench/inbox.py --help
    .venv/bin/python bench/inbox.py --customers 2000 --interactions 20000 --repeat 10
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import os
import platform
import random
import re
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from crm import migrations  # noqa: E402
from crm.conversations import FOLDERS, name_matches  # noqa: E402
from crm.customer_directory import CustomerFilter, _filtered  # noqa: E402
from crm.db import Database  # noqa: E402
from crm.models import Conversation, Customer, Interaction  # noqa: E402
from crm.settings import Settings  # noqa: E402
from crm.staff import create_staff  # noqa: E402

PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_BENCH_DB = "line_crm_bench_inbox"
PASSWORD = "bench password 1234"
SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "bench-access-token"
GOAL_MS = 100.0
DAY = 86400.0
CHUNK = 50_000

# Surnames with rough real-world weights, then a long tail; one rare name for worst-case search.
FAMILY = [
    ("佐藤", 19), ("鈴木", 18), ("高橋", 14), ("田中", 13), ("伊藤", 11), ("渡辺", 11),
    ("山本", 11), ("中村", 10), ("小林", 10), ("加藤", 9), ("吉田", 8), ("山田", 8),
    ("佐々木", 7), ("山口", 6), ("松本", 6), ("井上", 6), ("木村", 6), ("林", 5), ("斎藤", 5),
    ("清水", 5), ("山崎", 4), ("森", 4), ("池田", 4), ("橋本", 4), ("阿部", 4), ("石川", 4),
    ("山下", 3), ("中島", 3), ("石井", 3), ("小川", 3), ("前田", 3), ("岡田", 3), ("長谷川", 3),
    ("藤田", 3), ("後藤", 3), ("近藤", 3), ("村上", 3), ("遠藤", 2), ("青木", 2), ("坂本", 2),
]  # fmt: skip
RARE_FAMILY = "勅使河原"
GIVEN = [
    "花子", "太郎", "陽翔", "結菜", "蓮", "葵", "湊", "陽葵", "美咲", "大輝", "翔太", "愛",
    "健一", "由美", "直樹", "恵", "拓海", "さくら", "ゆい", "ひかり", "あおい", "みなと",
]  # fmt: skip
ROMAJI = ["Yuki", "Ken", "Mika", "Sho", "Aya", "Riku", "Hana", "Taro", "Emi", "Jun"]
INBOUND_TEXTS = [
    "予約できますか？", "明日の営業時間を教えてください", "ランチのメニューは何ですか？",
    "ありがとうございました！また行きます😊", "駐車場はありますか", "今日は空いていますか？",
    "クーポンを使いたいです", "18時に2名でお願いします", "キャンセルしたいのですが…",
    "テイクアウトできますか？", "誕生日ケーキの予約をしたいです", "了解です👍",
]  # fmt: skip
OUTBOUND_TEXTS = [
    "ご予約ありがとうございます。お待ちしております。", "本日は11時から22時まで営業しています。",
    "メッセージありがとうございます。担当者より折り返しご連絡いたします。",
    "はい、ご用意できます。", "またのご来店をお待ちしております！", "承知いたしました。",
]  # fmt: skip
# (name, share of customers carrying it)
TAGS = [
    ("常連", 0.15), ("ランチ", 0.10), ("ディナー", 0.08), ("新規", 0.12), ("誕生日月", 0.08),
    ("VIP", 0.01), ("テイクアウト", 0.05), ("クーポン利用", 0.06), ("学生", 0.04),
    ("要フォロー", 0.0005),
]  # fmt: skip
RANKS = [("ブロンズ", 60), ("シルバー", 25), ("ゴールド", 12), ("プラチナ", 3)]
MENUS = ["パスタ", "カレー", "ハンバーグ", "オムライス", "パフェ"]
DEFINITIONS = [
    # (key, label, kind, choices, share of customers with a value)
    ("birthday", "誕生日", "date", [], 0.25),
    ("favourite", "好きなメニュー", "choice", MENUS, 0.20),
    ("rank", "会員ランク", "choice", [r for r, _ in RANKS], 0.40),
    ("visits", "来店回数", "number", [], 0.30),
]


@dataclass
class Person:
    """What the seeder decided about one customer before writing anything."""

    id: int
    name: str | None
    created: float
    times: list[float] = field(default_factory=list)


@dataclass
class Seeded:
    """Ids and counts the requests and the report need."""

    counts: dict[str, int]
    big_customer_id: int
    big_conversation_id: int
    tag_ids: dict[str, int]
    rank_definition_id: int
    seconds: float


# ---------------------------------------------------------------- the data, decided in memory


def display_name(rng: random.Random, family_cum: list[float]) -> str | None:
    """A Japanese LINE display name in one of the shapes people use."""
    roll = rng.random()
    if roll < 0.0002:
        return f"{RARE_FAMILY} {rng.choice(GIVEN)}"
    family = FAMILY[bisect.bisect(family_cum, rng.random() * family_cum[-1])][0]
    given = rng.choice(GIVEN)
    if roll < 0.05:
        return None  # profile unavailable (blocked before we fetched it)
    if roll < 0.55:
        return f"{family} {given}"
    if roll < 0.72:
        return f"{family}{given}"
    if roll < 0.82:
        return given
    if roll < 0.92:
        return f"{rng.choice(ROMAJI)} {rng.choice('ABCDEFGHKMNSTY')}."
    return f"🌸{given}🌸"


def plan_people(rng: random.Random, customers: int, interactions: int, big: int, now: float):
    """Customers with their interaction times: log-normal counts, one customer with `big`."""
    span = 3 * 365 * DAY
    family_cum = list(_cumulative(w for _, w in FAMILY))
    people = [
        Person(i, display_name(rng, family_cum), now - span + span * i / customers)
        for i in range(1, customers + 1)
    ]
    big_id = max(1, customers // 2)
    weights = [
        0.0 if p.id == big_id or rng.random() < 0.2 else min(rng.lognormvariate(1.0, 1.5), 2000.0)
        for p in people
    ]
    counts = _scaled_counts(rng, weights, interactions - big)
    counts[big_id - 1] = big
    for person, count in zip(people, counts, strict=True):
        if count:
            person.times = _activity(rng, person, count, now, person.id == big_id)
    return people, big_id


def _cumulative(values) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _scaled_counts(rng: random.Random, weights: list[float], total: int) -> list[int]:
    """Integer counts proportional to weights that add up to exactly `total`."""
    scale = total / (sum(weights) or 1.0)
    counts = [int(w * scale) for w in weights]
    active = [i for i, w in enumerate(weights) if w > 0] or list(range(len(weights)))
    for _ in range(total - sum(counts)):
        counts[rng.choice(active)] += 1
    return counts


def _activity(rng: random.Random, person: Person, count: int, now: float, big: bool):
    """Times of a customer's interactions: most customers went quiet a while ago."""
    last = now - 300 if big else max(person.created + 60, now - rng.expovariate(1 / (90 * DAY)))
    first = max(person.created, last - (730 if big else 365) * DAY)
    times = sorted(rng.uniform(first, last) for _ in range(count - 1))
    return [*times, last]


def interaction_rows(rng: random.Random, people: list[Person], staff_ids: list[int]):
    """Every interaction, ids in time order across customers (as the bot would insert them)."""
    order = sorted((t, p.id) for p in people for t in p.times)
    for index, (at, customer_id) in enumerate(order, start=1):
        yield _interaction(rng, index, customer_id, at, staff_ids)


def _interaction(rng: random.Random, id_: int, customer_id: int, at: float, staff_ids):
    when = datetime.fromtimestamp(at, UTC)
    if rng.random() < 0.55:
        roll = rng.random()
        if roll < 0.85:
            message = rng.choice(INBOUND_TEXTS)
            kind, body = "text", message
            payload = {"type": "text", "id": str(10**15 + id_), "text": message}
        elif roll < 0.95:
            kind, body = "sticker", None
            payload = {"type": "sticker", "packageId": "446", "stickerId": "1988"}
        else:
            kind, body = "image", None
            payload = {"type": "image", "id": str(10**15 + id_)}
        return (id_, customer_id, "in", kind, when, body, json.dumps(payload, ensure_ascii=False),
                f"01BENCH{id_:020d}", str(10**15 + id_), None, None, None, None, None, 0, None,
                when)  # fmt: skip
    message = rng.choice(OUTBOUND_TEXTS)
    by_staff = rng.random() < 0.3
    status = "failed" if rng.random() < 0.005 else "sent"
    payload = json.dumps({"messages": [{"type": "text", "text": message}]}, ensure_ascii=False)
    return (id_, customer_id, "out", "text", when, message, payload, None, None,
            "staff" if by_staff else "bot", rng.choice(staff_ids) if by_staff else None, status,
            f"00000000-0000-4000-8000-{id_:012d}", "push" if by_staff else "reply", 1,
            when if status == "sent" else None, when)  # fmt: skip


INTERACTION_COLUMNS = (
    "id, customer_id, direction, kind, occurred_at, text, payload, source_event_id, "
    "line_message_id, sender, staff_id, delivery_status, retry_key, delivery_method, attempts, "
    "sent_at, created_at"
)
CUSTOMER_COLUMNS = (
    "id, line_user_id, display_name, follow_status, followed_at, blocked_at, follow_count, "
    "marketing_consent, profile_status, profile_attempts, first_contact_at, last_contact_at, "
    "created_at, updated_at"
)
CONVERSATION_COLUMNS = (
    "id, customer_id, status, assignee_id, awaiting_reply, unread_count, last_message_at, "
    "last_inbound_at, last_preview, created_at, updated_at"
)


def customer_rows(rng: random.Random, people: list[Person]):
    """One row per customer; most follow, some blocked, a few friends from before the bot."""
    for p in people:
        created = datetime.fromtimestamp(p.created, UTC)
        first = datetime.fromtimestamp(p.times[0], UTC) if p.times else None
        last = datetime.fromtimestamp(p.times[-1], UTC) if p.times else None
        roll = rng.random()
        status = "following" if roll < 0.85 else "blocked" if roll < 0.97 else "unknown"
        blocked = (last or created) + timedelta(days=1) if status == "blocked" else None
        yield (p.id, f"U{p.id:032x}", p.name, status, created if status != "unknown" else None,
               blocked, 1 if status != "unknown" else 0, rng.random() < 0.9,
               "ok" if p.name else "unavailable", 1, first, last, created, last or created)  # fmt: skip


def conversation_rows(rng: random.Random, people: list[Person], last_in, staff_ids, now: float):
    """A conversation per customer who ever wrote; recent ones open, most old ones resolved."""
    conversation_id = 0
    for p in people:
        if not p.times:
            continue
        conversation_id += 1
        last = p.times[-1]
        recent = now - last < 14 * DAY
        status = (
            ("open" if rng.random() < 0.8 else "pending")
            if recent
            else ("resolved" if rng.random() < 0.9 else "open")
        )
        inbound_at, preview, last_was_in = last_in.get(p.id, (None, None, False))
        awaiting = last_was_in and status != "resolved"
        unread = rng.randint(1, 4) if awaiting and rng.random() < 0.6 else 0
        assignee = rng.choice(staff_ids) if status != "resolved" and rng.random() < 0.3 else None
        at = datetime.fromtimestamp(last, UTC)
        first = datetime.fromtimestamp(p.times[0], UTC)
        inbound = datetime.fromtimestamp(inbound_at, UTC) if inbound_at else None
        yield (conversation_id, p.id, status, assignee, awaiting, unread, at, inbound, preview,
               first, at)  # fmt: skip


def tag_rows(rng: random.Random, customers: int, tag_ids: dict[str, int], now: datetime):
    """Tags on a share of customers each (a rare one too)."""
    for name, share in TAGS:
        for customer_id in rng.sample(range(1, customers + 1), max(1, round(customers * share))):
            yield (customer_id, tag_ids[name], now)


def attribute_rows(rng: random.Random, customers: int, definition_ids: dict[str, int], now):
    """Custom field values, normalised as crm.attributes stores them."""
    rank_cum = list(_cumulative(w for _, w in RANKS))
    values = {
        "birthday": lambda: (
            f"{rng.randint(1950, 2008)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        ),
        "favourite": lambda: rng.choice(MENUS),
        "rank": lambda: RANKS[bisect.bisect(rank_cum, rng.random() * rank_cum[-1])][0],
        "visits": lambda: str(rng.randint(1, 120)),
    }
    for key, _label, _kind, _choices, share in DEFINITIONS:
        for customer_id in rng.sample(range(1, customers + 1), round(customers * share)):
            yield (customer_id, definition_ids[key], values[key](), now)


# ---------------------------------------------------------------- writing it


class Writer:
    """Bulk inserts: COPY on PostgreSQL, executemany in one transaction on SQLite."""

    def __init__(self, database: Database):
        self.database = database
        self.raw = database.engine.raw_connection()
        self.sqlite = database.dialect == "sqlite"
        if self.sqlite:
            self.raw.driver_connection.execute("PRAGMA synchronous=OFF")

    def rows(self, table: str, columns: str, rows) -> int:
        written = 0
        if self.sqlite:
            cursor = self.raw.driver_connection.cursor()
            cursor.execute("BEGIN")
            marks = ", ".join("?" * len(columns.split(",")))
            statement = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
            for chunk in _chunks(rows):
                cursor.executemany(statement, [tuple(map(_sqlite_value, r)) for r in chunk])
                written += len(chunk)
            cursor.execute("COMMIT")
            return written
        statement = f"COPY {table} ({columns}) FROM STDIN"
        with self.raw.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                written += 1
        self.raw.driver_connection.commit()
        return written

    def close(self) -> None:
        self.raw.close()


def _chunks(rows) -> Iterator[list]:
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _sqlite_value(value):
    """SQLAlchemy's SQLite storage: naive UTC text for datetimes, 0/1 for booleans."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def seed(database: Database, args) -> Seeded:
    """Fill an empty, migrated database; returns what the requests need."""
    started = time.perf_counter()
    rng = random.Random(args.seed)
    now = time.time()
    now_dt = datetime.fromtimestamp(now, UTC)
    big = min(args.big, args.interactions // 4)
    with database.transaction() as session:
        staff = [
            create_staff(session, f"{who}@shop.example", PASSWORD, role, name)
            for who, role, name in (
                ("admin", "admin", "店長"),
                ("hanako", "agent", "花子"),
                ("ken", "agent", "健"),
            )
        ]
        staff_ids = [s.id for s in staff]
    people, big_id = plan_people(rng, args.customers, args.interactions, big, now)
    writer = Writer(database)
    counts = {"customers": writer.rows("customers", CUSTOMER_COLUMNS, customer_rows(rng, people))}
    last_in: dict[int, tuple[float | None, str | None, bool]] = {}

    def tracked(rows):
        for row in rows:
            at, customer_id = row[4].timestamp(), row[1]
            inbound_at, _, _ = last_in.get(customer_id, (None, None, False))
            preview = row[5] or f"[{row[3]}]"
            last_in[customer_id] = (at if row[2] == "in" else inbound_at, preview, row[2] == "in")
            yield row

    counts["interactions"] = writer.rows(
        "interactions", INTERACTION_COLUMNS, tracked(interaction_rows(rng, people, staff_ids))
    )
    counts["conversations"] = writer.rows(
        "conversations",
        CONVERSATION_COLUMNS,
        conversation_rows(rng, people, last_in, staff_ids, now),
    )
    tag_ids = writer_lookup(writer, "tags", "name", [(n, "#6b7280", now_dt) for n, _ in TAGS])
    counts["customer_tags"] = writer.rows(
        "customer_tags",
        "customer_id, tag_id, created_at",
        tag_rows(rng, args.customers, tag_ids, now_dt),
    )
    definitions = [
        (key, label, kind, json.dumps(choices, ensure_ascii=False), position, now_dt)
        for position, (key, label, kind, choices, _share) in enumerate(DEFINITIONS)
    ]
    definition_ids = writer_lookup(writer, "attribute_definitions", "key", definitions)
    counts["customer_attributes"] = writer.rows(
        "customer_attributes",
        "customer_id, definition_id, value, updated_at",
        attribute_rows(rng, args.customers, definition_ids, now_dt),
    )
    writer.close()
    _finish(database)
    with database.read_session() as session:
        big_conversation = session.scalar(
            select(Conversation.id).where(Conversation.customer_id == big_id)
        )
    return Seeded(
        counts,
        big_id,
        big_conversation,
        tag_ids,
        definition_ids["rank"],
        time.perf_counter() - started,
    )


def writer_lookup(writer: Writer, table: str, key: str, rows: list[tuple]) -> dict[str, int]:
    """Insert a few named rows and return their ids by name."""
    columns = {
        "tags": "name, color, created_at",
        "attribute_definitions": "key, label, kind, choices, position, created_at",
    }[table]
    writer.rows(table, columns, rows)
    with writer.database.read_session() as session:
        found = session.execute(text(f"SELECT {key}, id FROM {table}")).all()
    return dict(found)


def _finish(
    database: Database, tables: tuple[str, ...] = ("customers", "interactions", "conversations")
) -> None:
    """Sequences past the explicit ids; fresh statistics as autovacuum would leave them."""
    if database.dialect != "postgresql":
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        conn.execute(text("VACUUM ANALYZE"))


# ---------------------------------------------------------------- the requests


@dataclass
class Probe:
    """One page to time, and how to count what it shows and what matches."""

    name: str
    path: str
    shown: str  # regex counted in the HTML
    matches: object  # a select() returning a count


def probes(seeded: Seeded, admin_id: int) -> list[Probe]:
    """The pages of the issue: lists, the longest chat, filters and name searches."""
    conv_link = r'data-conversation="\d+"'
    customer_link = r'href="/inbox/customers/\d+"'
    common, rare = FAMILY[0][0], RARE_FAMILY
    regular, follow_up = seeded.tag_ids["常連"], seeded.tag_ids["要フォロー"]

    def conversations(folder: str, search: str = ""):
        statement = select(func.count()).select_from(Conversation).where(FOLDERS[folder](admin_id))
        if search:
            statement = statement.join(Customer, Customer.id == Conversation.customer_id).where(
                name_matches(search)
            )
        return statement

    def customers(criteria: CustomerFilter):
        return select(func.count()).select_from(_filtered(criteria).subquery())

    return [
        Probe("conversations needs_reply", "/inbox/conversations?folder=needs_reply", conv_link,
              conversations("needs_reply")),
        Probe("conversations all", "/inbox/conversations?folder=all", conv_link,
              conversations("all")),
        Probe(f"conversation view ({seeded.counts['big']} items)",
              f"/inbox/conversations/{seeded.big_conversation_id}", r'class="item ',
              select(func.count()).select_from(Interaction)
              .where(Interaction.customer_id == seeded.big_customer_id)),
        Probe("customers tag=常連", f"/inbox/customers?tag={regular}", customer_link,
              customers(CustomerFilter(tag_id=regular))),
        Probe("customers tag=要フォロー (rare)", f"/inbox/customers?tag={follow_up}",
              customer_link, customers(CustomerFilter(tag_id=follow_up))),
        Probe("customers 会員ランク=プラチナ",
              f"/inbox/customers?attribute={seeded.rank_definition_id}&value=プラチナ",
              customer_link,
              customers(CustomerFilter(attribute_id=seeded.rank_definition_id,
                                       attribute_value="プラチナ"))),
        Probe(f"conversations all q={common}", f"/inbox/conversations?folder=all&q={common}",
              conv_link, conversations("all", common)),
        Probe(f"conversations all q={rare} (rare)", f"/inbox/conversations?folder=all&q={rare}",
              conv_link, conversations("all", rare)),
        Probe(f"customers q={common}", f"/inbox/customers?q={common}", customer_link,
              customers(CustomerFilter(search=common))),
        Probe(f"customers q={rare} (rare)", f"/inbox/customers?q={rare}", customer_link,
              customers(CustomerFilter(search=rare))),
    ]  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def signed_in_client(url: str):
    """The real app (web processes never call LINE) and a test client signed in as the admin."""
    settings = Settings(
        line_channel_secret=SECRET,
        line_channel_access_token=TOKEN,
        line_api_host=f"http://127.0.0.1:{free_port()}",  # nothing listens: no LINE call is made
        database_url=url,
        secret_key="bench-secret-key-" * 4,
        session_cookie_secure=False,
    )
    app = create_app(settings)
    client = app.test_client()
    page = client.get("/inbox/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/inbox/login",
        data={"csrf_token": token, "email": "admin@shop.example", "password": PASSWORD},
    )
    if response.status_code != 302:
        raise RuntimeError(f"sign-in failed: {response.status_code}")
    return app, client


@dataclass
class Row:
    database: str
    request: str
    shown: int
    matches: int
    p50: float
    p95: float
    max: float


def time_requests(kind: str, url: str, seeded: Seeded, args) -> list[Row]:
    """Warm up, then time every page `repeat` times in interleaved rounds."""
    app, client = signed_in_client(url)
    database = app.extensions["line_crm"].db
    with database.read_session() as session:
        admin_id = session.scalar(text("SELECT id FROM staff WHERE role = 'admin'"))
        chosen = probes(seeded, admin_id)
        matches = [session.scalar(p.matches) for p in chosen]
    samples: dict[str, list[float]] = {p.name: [] for p in chosen}
    shown: dict[str, int] = {}
    for round_ in range(args.warmup + args.repeat):
        for probe in chosen:
            started = time.perf_counter()
            response = client.get(probe.path)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise RuntimeError(f"{probe.path} answered {response.status_code}")
            if round_ >= args.warmup:
                samples[probe.name].append(elapsed)
            shown[probe.name] = len(re.findall(probe.shown, response.text))
    app.extensions["line_crm"].line.close()
    database.dispose()
    return [
        Row(kind, p.name, shown[p.name], m, *_percentiles(samples[p.name]))
        for p, m in zip(chosen, matches, strict=True)
    ]


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered), p95, ordered[-1]


# ---------------------------------------------------------------- databases and the report


def fresh_database(
    kind: str, workdir: Path, pg_name: str = PG_BENCH_DB, sqlite_name: str = "inbox.sqlite3"
) -> str:
    """An empty, migrated database of the given kind."""
    if kind == "sqlite":
        for leftover in workdir.glob(f"{sqlite_name}*"):
            leftover.unlink()
        url = f"sqlite:///{workdir / sqlite_name}"
    else:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {pg_name}"))
        admin.dispose()
        url = make_url(PG_ADMIN_URL).set(database=pg_name).render_as_string(False)
    migrations.upgrade(url)
    return url


def bench_database(kind: str, args, workdir: Path) -> tuple[Seeded, list[Row]]:
    url = fresh_database(kind, workdir)
    database = Database(url)
    seeded = seed(database, args)
    seeded.counts["big"] = min(args.big, args.interactions // 4)
    database.dispose()
    print(
        f"{kind}: seeded in {seeded.seconds:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in seeded.counts.items() if k != "big"),
        flush=True,
    )
    return seeded, time_requests(kind, url, seeded, args)


def describe_machine(kinds: list[str]) -> str:
    parts = [
        f"{os.cpu_count()} CPUs",
        platform.processor() or platform.machine(),
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
    ]
    if "postgresql" in kinds:
        engine = create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            parts.append(f"PostgreSQL {conn.scalar(text('SHOW server_version'))}")
        engine.dispose()
    return ", ".join(parts)


def print_table(rows: list[Row], args, machine: str) -> None:
    print()
    print(f"machine: {machine}")
    print(
        f"customers {args.customers:,}, interactions {args.interactions:,}, "
        f"repeat {args.repeat} after {args.warmup} warm-up rounds; server side via the "
        "Flask test client; goal p95 < 100 ms on PostgreSQL"
    )
    header = (
        f"{'database':<10} {'request':<38} {'shown':>5} {'matches':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}  goal"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        goal = "ok" if r.p95 < GOAL_MS else "MISS"
        print(
            f"{r.database:<10} {_pad(r.request, 38)} {r.shown:>5} {r.matches:>8,} "
            f"{r.p50:>7.1f} {r.p95:>7.1f} {r.max:>7.1f}  {goal}"
        )


def _pad(value: str, width: int) -> str:
    """Left-justify counting East Asian characters as two columns."""
    cells = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in value)
    return value + " " * max(0, width - cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=5000, help="interactions of the busiest one")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--workdir", help="keep the SQLite file here (default: a temporary dir)")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-inbox-") as temporary:
        workdir = Path(args.workdir or temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        for kind in kinds:
            rows.extend(bench_database(kind, args, workdir)[1])
    print_table(rows, args, describe_machine(kinds))


if __name__ == "__main__":
    main()
