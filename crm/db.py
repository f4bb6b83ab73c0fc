"""Engine, sessions and the declarative base shared by every model."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Integer, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from crm.clock import utcnow
from crm.sqlite_writers import writer_queue_for

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
# A JSON value where Python's None is SQL NULL rather than JSON null (a skipped answer).
AnswerValue = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
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
        is_sqlite = self.dialect == "sqlite"
        self._writers = writer_queue_for(self.engine.url.database) if is_sqlite else None

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

        On SQLite, writers take turns (crm/sqlite_writers.py); `background` work (handling
        events, recording deliveries) lets waiting foreground writers (acknowledging webhooks)
        go first for a moment.
        """
        turn = self._writers.turn(background) if self._writers else nullcontext()
        with turn, self.session() as session, session.begin():
            yield session

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


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
