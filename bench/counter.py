"""Counter-screen benchmark: a shop of 100,000 customers with member numbers, stamp cards and
coupons, on SQLite and PostgreSQL; times the server side of the counter screen's requests (find
by member number, member QR, coupon code and name; the customer's card; the rotating QR's poll)
through the real Flask app with a signed-in clerk. Prints a table; asserts nothing.

    .venv/bin/python bench/counter.py                 # both databases, 100,000 customers
    .venv/bin/python bench/counter.py --databases sqlite --customers 20000 --repeat 20
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.inbox import (  # noqa: E402
    CUSTOMER_COLUMNS,
    FAMILY,
    PASSWORD,
    RARE_FAMILY,
    Person,
    Writer,
    _cumulative,
    _finish,
    _pad,
    _percentiles,
    customer_rows,
    describe_machine,
    display_name,
    fresh_database,
    signed_in_client,
)
from crm.db import Database  # noqa: E402
from crm.loyalty.coupons import CouponInput, create_coupon, new_code  # noqa: E402
from crm.loyalty.programs import default_program  # noqa: E402
from crm.staff import create_staff  # noqa: E402

PG_BENCH_DB = "line_crm_bench_counter"
GOAL_MS = 150.0
HX = {"HX-Request": "true"}
CARD_SHARE = 0.4  # customers holding a stamp card
COUPON_SHARE = 0.25  # customers holding a coupon


@dataclass
class Seeded:
    counts: dict[str, int]
    regular_id: int  # a customer with a card, a coupon and a member number
    number: str
    code: str
    seconds: float


def seed(database: Database, args) -> Seeded:
    """Fill an empty, migrated database; returns what the requests need."""
    started = time.perf_counter()
    rng = random.Random(args.seed)
    now = datetime.now(UTC)
    with database.transaction() as session:
        create_staff(session, "admin@shop.example", PASSWORD, "admin", "店長")
        program_id = default_program(session).id
        coupon = CouponInput(
            title="ランチ10%オフ", discount_type="percent", discount_value=10, valid_days=60
        )
        coupon_id = create_coupon(session, coupon).id
    family_cum = list(_cumulative(w for _, w in FAMILY))
    span = 3 * 365 * 86400
    people = [
        Person(i, display_name(rng, family_cum), now.timestamp() - span + span * i / args.customers)
        for i in range(1, args.customers + 1)
    ]
    regular = args.customers // 2
    numbers = [f"{n:08d}" for n in rng.sample(range(10**8), args.customers)]
    codes: dict[int, str] = {}
    writer = Writer(database)
    counts = {"customers": writer.rows("customers", CUSTOMER_COLUMNS, customer_rows(rng, people))}
    counts["member_cards"] = writer.rows(
        "member_cards",
        "customer_id, number, created_at",
        ((i, numbers[i - 1], now) for i in range(1, args.customers + 1)),
    )
    cards = _cards(rng, args.customers, regular, program_id, now)
    counts["stamp_cards"] = writer.rows(
        "stamp_cards",
        "id, program_id, customer_id, number, stamps, status, first_stamp_at, last_stamp_at, "
        "expires_at, created_at",
        cards,
    )
    counts["stamp_ledger"] = writer.rows(
        "stamp_ledger",
        "card_id, customer_id, program_id, kind, delta, balance_after, via, occurred_at",
        _ledger(cards, now),
    )
    counts["issued_coupons"] = writer.rows(
        "issued_coupons",
        "coupon_id, customer_id, slot, code, status, uses, usable_times, valid_from, valid_until, "
        "source, issued_at",
        _issued(rng, args.customers, regular, coupon_id, codes, now),
    )
    writer.close()
    _finish(database, ("customers", "stamp_cards"))
    return Seeded(
        counts, regular, numbers[regular - 1], codes[regular], time.perf_counter() - started
    )


def _cards(rng, customers: int, regular: int, program_id: int, now: datetime) -> list[tuple]:
    """One active card each for a share of customers, 1–9 stamps a day apart."""
    rows = []
    for customer_id in range(1, customers + 1):
        if customer_id != regular and rng.random() >= CARD_SHARE:
            continue
        stamps = 7 if customer_id == regular else rng.randint(1, 9)
        last = now - timedelta(days=rng.randint(1, 60))
        first = last - timedelta(days=stamps - 1)
        rows.append((len(rows) + 1, program_id, customer_id, 1, stamps, "active", first, last,
                     last + timedelta(days=365), first))  # fmt: skip
    return rows


def _ledger(cards: list[tuple], now: datetime):
    for card_id, program_id, customer_id, _n, stamps, _s, first, *_rest in cards:
        for n in range(stamps):
            yield (card_id, customer_id, program_id, "grant", 1, n + 1, "staff",
                   first + timedelta(days=n))  # fmt: skip


def _issued(rng, customers: int, regular: int, coupon_id: int, codes: dict, now: datetime):
    for customer_id in range(1, customers + 1):
        if customer_id != regular and rng.random() >= COUPON_SHARE:
            continue
        code = codes[customer_id] = new_code()
        issued = now - timedelta(days=rng.randint(0, 30))
        yield (coupon_id, customer_id, 1, code, "valid", 0, 1, None, issued + timedelta(days=60),
               "staff", issued)  # fmt: skip


# ---------------------------------------------------------------- the requests


@dataclass
class Probe:
    name: str
    path: str
    shown: str  # regex counted in the answer


def probes(seeded: Seeded, qr_poll: str) -> list[Probe]:
    card, results = r'id="customer-card"', r'class="result"'
    return [
        Probe("find: member number typed", f"/inbox/counter/find?q={seeded.number}", card),
        Probe("find: member QR scanned", f"/inbox/counter/find?q=M-{seeded.number}&scanned=1",
              card),
        Probe("find: coupon code", f"/inbox/counter/find?q={seeded.code}", r'id="coupon-found"'),
        Probe(f"find: name {FAMILY[0][0]} (common)",
              f"/inbox/counter/find?q={quote(FAMILY[0][0])}", results),
        Probe(f"find: name {RARE_FAMILY} (rare)", f"/inbox/counter/find?q={quote(RARE_FAMILY)}",
              results),
        Probe("find: name nobody has", f"/inbox/counter/find?q={quote('該当なし太郎')}", results),
        Probe("customer card", f"/inbox/counter/customers/{seeded.regular_id}", card),
        Probe("rotating QR poll", qr_poll, r"<svg"),
        Probe("counter page (whole)", "/inbox/counter", r'id="counter-qr"'),
    ]  # fmt: skip


@dataclass
class Row:
    database: str
    request: str
    shown: int
    p50: float
    p95: float
    max: float


def time_requests(kind: str, url: str, seeded: Seeded, args) -> list[Row]:
    """Warm up, then time every request `repeat` times in interleaved rounds."""
    app, client = signed_in_client(url)
    page = client.get("/inbox/counter").text
    qr_poll = re.search(r'hx-get="(/inbox/counter/qr\?[^"]+)"', page).group(1).replace("&amp;", "&")
    chosen = probes(seeded, qr_poll)
    samples: dict[str, list[float]] = {p.name: [] for p in chosen}
    shown: dict[str, int] = {}
    for round_ in range(args.warmup + args.repeat):
        for probe in chosen:
            started = time.perf_counter()
            response = client.get(probe.path, headers=HX)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code not in (200, 204):
                raise RuntimeError(f"{probe.path} answered {response.status_code}")
            if round_ >= args.warmup:
                samples[probe.name].append(elapsed)
            if response.status_code == 200:
                shown[probe.name] = len(re.findall(probe.shown, response.text))
    app.extensions["line_crm"].line.close()
    app.extensions["line_crm"].db.dispose()
    return [Row(kind, p.name, shown.get(p.name, 0), *_percentiles(samples[p.name])) for p in chosen]


def bench_database(kind: str, args, workdir: Path) -> list[Row]:
    url = fresh_database(kind, workdir, PG_BENCH_DB, "counter.sqlite3")
    database = Database(url)
    seeded = seed(database, args)
    database.dispose()
    print(
        f"{kind}: seeded in {seeded.seconds:.1f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in seeded.counts.items()),
        flush=True,
    )
    return time_requests(kind, url, seeded, args)


def print_table(rows: list[Row], args, machine: str) -> None:
    print()
    print(f"machine: {machine}")
    print(
        f"customers {args.customers:,} (all with member numbers), repeat {args.repeat} after "
        f"{args.warmup} warm-up rounds; server side via the Flask test client; goal p95 < "
        f"{GOAL_MS:.0f} ms"
    )
    header = (
        f"{'database':<10} {'request':<36} {'shown':>5} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'max ms':>7}  goal"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        goal = "ok" if r.p95 < GOAL_MS else "MISS"
        print(
            f"{r.database:<10} {_pad(r.request, 36)} {r.shown:>5} {r.p50:>7.1f} {r.p95:>7.1f} "
            f"{r.max:>7.1f}  {goal}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--workdir", help="keep the SQLite file here (default: a temporary dir)")
    args = parser.parse_args()
    kinds = [k.strip() for k in args.databases.split(",") if k.strip()]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-counter-") as temporary:
        workdir = Path(args.workdir or temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        for kind in kinds:
            rows.extend(bench_database(kind, args, workdir))
    print_table(rows, args, describe_machine(kinds))


if __name__ == "__main__":
    main()
