"""Engine, sessions and the declarative base shared by every model."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from crm.clock import utcnow

BACKGROUND_YIELD = timedelta(milliseconds=50)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware, also on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use crm.clock.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


JSONDocument = JSON().with_variant(JSONB(), "postgresql")
BigId = BigInteger().with_variant(Integer(), "sqlite")

timestamp = Annotated[datetime, mapped_column(UTCDateTime())]
created_at = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow)]
updated_at = Annotated[datetime, mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)]


class Base(DeclarativeBase):
    """The declarative base; its naming convention keeps Alembic constraint names stable."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSONDocument}


def create_db_engine(url: str, **kwargs) -> Engine:
    """An engine tuned for the backend: SQLite gets WAL, a busy timeout and immediate writes."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 40)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_engine(url: str, **kwargs) -> Engine:
    """SQLite with writers that queue on the busy timeout instead of failing with 'locked'."""
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "busy_timeout=30000",
            "foreign_keys=ON",
            "synchronous=NORMAL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        # A deferred transaction that later writes can fail at once with SQLITE_BUSY when
        # another process holds the write lock; BEGIN IMMEDIATE waits on busy_timeout instead.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


class Database:
    """An engine and its session factories: `session()` for writes, `read_session()` for reads."""

    def __init__(self, url: str, **engine_kwargs):
        self.url = url
        self.engine = create_db_engine(url, **engine_kwargs)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        reader = self.engine.execution_options(sqlite_begin="DEFERRED")
        self.read_session_factory = sessionmaker(reader, expire_on_commit=False)
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None
        self._lock_files = _writer_lock_paths(self.engine) if self._write_lock else None
        self._lock_fd_pid: int | None = None  # a forked child opens its own descriptors
        self._lock_fds_cache: tuple[int, int] = (-1, -1)

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    def session(self) -> Session:
        """A new session for work that writes."""
        return self.session_factory()

    def read_session(self) -> Session:
        """A new session for reads; on SQLite it does not take the write lock."""
        return self.read_session_factory()

    @contextmanager
    def transaction(self, background: bool = False) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on error, always close.

        `background` work (handling events, recording deliveries) lets waiting foreground
        writers (acknowledging webhooks) go first on SQLite, for at most BACKGROUND_YIELD.
        """
        with self._writer_turn(background), self.session() as session, session.begin():
            yield session

    def _writer_turn(self, background: bool):
        """On SQLite, writers queue on locks instead of on SQLite's busy handler.

        The busy handler polls in sleeps of up to 100 ms, so a process that writes back to back
        (the event worker) retakes the lock before a sleeping acknowledgement wakes: acks
        starved for seconds. Threads queue on a lock, processes on an flock() of a file beside
        the database, which wakes the next waiter at once. Writers that take neither (a
        migration, the sqlite3 shell) still meet the busy timeout.
        """
        if self._write_lock is None:
            return nullcontext()
        if self._lock_files is None:
            return self._write_lock
        return self._process_writer_turn(background)

    @contextmanager
    def _process_writer_turn(self, background: bool) -> Iterator[None]:
        with self._write_lock:
            intent, writer = self._lock_fds()
            if background:
                _let_foreground_go_first(intent)
            else:
                fcntl.flock(intent, fcntl.LOCK_SH)  # "a foreground writer is waiting"
            fcntl.flock(writer, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(writer, fcntl.LOCK_UN)
                if not background:
                    fcntl.flock(intent, fcntl.LOCK_UN)

    def _lock_fds(self) -> tuple[int, int]:
        """This process's own descriptors: flock() locks are shared across a fork."""
        pid = os.getpid()
        if self._lock_fd_pid != pid:
            self._lock_fds_cache = tuple(
                os.open(path, os.O_RDWR | os.O_CREAT, 0o600) for path in self._lock_files
            )
            self._lock_fd_pid = pid
        return self._lock_fds_cache

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _writer_lock_paths(engine: Engine) -> tuple[str, str] | None:
    """The files whose flock() orders writers of a file-backed SQLite database: one that
    foreground writers hold shared while they wait and write, one for the write itself."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-intent.lock", f"{database}-writer.lock"


def _let_foreground_go_first(intent_fd: int) -> None:
    """Wait while foreground writers hold the intent lock, but never longer than
    BACKGROUND_YIELD, so that background work still moves under a steady stream of acks."""
    deadline = time.monotonic() + BACKGROUND_YIELD.total_seconds()
    while True:
        try:
            fcntl.flock(intent_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.002)
            continue
        fcntl.flock(intent_fd, fcntl.LOCK_UN)
        return


def insert_ignoring_conflicts(session: Session, model, rows: list[dict], unique_column: str):
    """INSERT rows, skipping those whose unique column already exists; returns the result."""
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(model).values(rows).on_conflict_do_nothing(index_elements=[unique_column])
    )
    return session.execute(statement)


def dialect_insert_for(session: Session):
    """The dialect's own insert(), which knows ON CONFLICT."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
