"""Fixtures: databases (SQLite and PostgreSQL), the LINE sandbox on a real port, the app."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from werkzeug.serving import make_server

from app import create_app
from bot.campaign_sending import CampaignSender
from bot.handling import handle_pending_events
from bot.sending import fetch_due_profiles, send_due_messages
from bot.turn import LoyaltyContext
from crm import migrations
from crm.clock import utcnow
from crm.db import Base, Database
from crm.models import FOLLOWING, Customer
from crm.settings import Settings
from tests import sandbox_admin as sb
from tests.line_payloads import body_of, sign
from worker import Worker

TEST_SECRET = "fedcba9876543210fedcba9876543210"
TEST_TOKEN = "test-access-token"
PG_ADMIN_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PG_TEST_DB = os.environ.get("TEST_PG_DB", "line_crm_test")  # one per concurrent test run


def _postgres_url() -> str:
    """A dedicated, freshly emptied PostgreSQL database, or a skip that says why."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": PG_TEST_DB}
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{PG_TEST_DB}"'))
    except OperationalError as exc:
        message = (
            f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__}); "
            "PostgreSQL tests skipped. Set TEST_DATABASE_URL to run them."
        )
        if os.environ.get("REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    finally:
        admin.dispose()
    url = make_url(PG_ADMIN_URL).set(database=PG_TEST_DB).render_as_string(hide_password=False)
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request, tmp_path_factory) -> str:
    """A migrated database of each kind; every test that touches data runs on both."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        url = _postgres_url()
    migrations.upgrade(url)
    return url


def _empty_tables(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def db(database_url) -> Iterator[Database]:
    """The test database, emptied after each test."""
    database = Database(database_url)
    yield database
    _empty_tables(database)
    database.dispose()


@pytest.fixture(scope="session")
def sandbox_server():
    from sandbox.server import SandboxServer

    server = SandboxServer(
        channel_secret=TEST_SECRET,
        access_token=TEST_TOKEN,
        webhook_url="http://127.0.0.1:9/unset",
        port=0,
    ).start()
    yield server
    server.stop()


@pytest.fixture
def line(sandbox_server):
    """The LINE sandbox, reset for this test."""
    sandbox_server.state.reset()
    yield sandbox_server
    sandbox_server.state.reset()


@pytest.fixture
def settings(db, line) -> Settings:
    return Settings(
        line_channel_secret=TEST_SECRET,
        line_channel_access_token=TEST_TOKEN,
        line_api_host=line.url,
        database_url=db.url,
        secret_key="test-secret-key-" * 4,
        send_threads=4,
        worker_poll_ms=50,
        line_timeout=(2.0, 2.0),
        session_cookie_secure=False,  # the test servers speak plain HTTP
    )


@pytest.fixture
def app(settings):
    application = create_app(settings)
    application.config["TESTING"] = True
    yield application
    services = application.extensions["line_crm"]
    services.line.close()
    services.db.dispose()


@pytest.fixture
def services(app):
    return app.extensions["line_crm"]


class WorkerRounds:
    """The worker's two functions, called in the test's thread."""

    def __init__(self, services):
        self.services = services

    def __call__(self, max_rounds: int = 50) -> int:
        """Run rounds until they find nothing more to do now; returns how much they did."""
        total = 0
        for _ in range(max_rounds):
            settings = self.services.settings
            loyalty = LoyaltyContext(settings.secret_key, settings.public_base_url)
            done = (
                handle_pending_events(self.services.db, settings.shop_timezone, loyalty)
                + send_due_messages(self.services.db, self.services.line)
                + fetch_due_profiles(self.services.db, self.services.line)
            )
            if not done:
                break
            total += done
        return total

    def over(self, seconds: float, step: float = 5) -> int:
        """Run rounds at every `step` of the next `seconds` of (travelled) time, as a worker
        would while retries come due. The clock stands still within a step, so a retry due at a
        step's time is found by that step, not missed by a few milliseconds."""
        start, total, offset = utcnow(), 0, 0.0
        while offset <= seconds:
            with time_machine.travel(start + timedelta(seconds=offset), tick=False):
                total += self()
            offset += step
        return total


@pytest.fixture
def work(services) -> WorkerRounds:
    """Run the worker's rounds in the test's thread: `work()`, or `work.over(seconds)`."""
    return WorkerRounds(services)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def post_events(client) -> Callable:
    """POST events to the webhook, signed like LINE signs them."""

    def post(*events, secret: str = TEST_SECRET):
        body = body_of(*events)
        return client.post(
            "/line/webhook",
            data=body,
            headers={"X-Line-Signature": sign(secret, body), "Content-Type": "application/json"},
        )

    return post


@pytest.fixture
def live_app(settings, line):
    """The app on a real port with a worker running; the sandbox sends webhooks to it."""
    application = create_app(settings)
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    line.webhook_url = f"{url}/line/webhook"
    worker = Worker(application.extensions["line_crm"])
    worker.start()
    yield application
    server.shutdown()
    thread.join(5)
    worker.stop()
    services = application.extensions["line_crm"]
    services.line.close()
    services.db.dispose()


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05):
    """Poll until predicate() is truthy; fail with a clear message when it never is."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


STAFF_PASSWORD = "correct horse battery"


@pytest.fixture
def make_staff(db) -> Callable:
    """Create a staff account directly in the database."""
    from crm.staff import create_staff

    def make(email: str = "admin@shop.example", role: str = "admin", name: str = "店長"):
        with db.transaction() as session:
            staff = create_staff(session, email, STAFF_PASSWORD, role, name)
        return staff

    return make


def csrf_from(html: str) -> str:
    """The CSRF token a page embeds in its forms."""
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client, email: str, password: str = STAFF_PASSWORD):
    """Sign in through the real login form; returns the response."""
    page = client.get("/inbox/login")
    return client.post(
        "/inbox/login",
        data={"csrf_token": csrf_from(page.text), "email": email, "password": password},
    )


@pytest.fixture
def admin_client(client, make_staff):
    """A test client signed in as an admin; `.csrf` holds its token."""
    staff = make_staff()
    assert sign_in(client, staff.email).status_code == 302
    client.csrf = csrf_from(client.get("/inbox/settings/tags").text)
    client.staff = staff
    return client


@pytest.fixture
def token(db) -> str:
    """A live API bearer token."""
    from crm.api_tokens import create_api_token

    with db.transaction() as session:
        _row, plain = create_api_token(session, "tests")
    return plain


@pytest.fixture
def api(client, token) -> Callable:
    """`api(method, path, json=None, **query)` against /api/v1 with the bearer token."""
    headers = {"Authorization": f"Bearer {token}"}

    def call(method, path, json=None, **params):
        return client.open(
            f"/api/v1{path}", method=method, json=json, query_string=params, headers=headers
        )

    return call


@pytest.fixture
def customers(db, line):
    """`customers(n, name="客", **columns)`: n customers who are real sandbox users (named
    客0, 客1…, friends for 100 days); returns their ids."""

    def make(count: int, name: str = "客", **columns) -> list[int]:
        ids = []
        with db.transaction() as session:
            for number in range(count):
                user_id = sb.create_user(line, f"{name}{number}")
                customer = Customer(
                    line_user_id=user_id,
                    display_name=f"{name}{number}",
                    follow_status=columns.get("follow_status", FOLLOWING),
                    marketing_consent=columns.get("marketing_consent", True),
                    followed_at=utcnow() - timedelta(days=100),
                )
                session.add(customer)
                session.flush()
                ids.append(customer.id)
        return ids

    return make


@pytest.fixture
def sender(services):
    pool = ThreadPoolExecutor(4)
    yield CampaignSender(services.db, services.line, pool, multicast_per_second=1000)
    pool.shutdown()


SHOP_TOPICS = ("ランチ情報", "ディナー情報", "イベント", "クーポン")


@pytest.fixture
def shop_topics(db) -> dict[str, int]:
    """The four topics a new shop has (earlier tests may have emptied the table), by name."""
    from crm.topics import create_topic, find_topic

    with db.transaction() as session:
        for name in SHOP_TOPICS:
            if find_topic(session, name) is None:
                create_topic(session, name)
        return {name: find_topic(session, name).id for name in SHOP_TOPICS}
