"""Alembic environment: runs migrations against DATABASE_URL (or the URL the caller passed)."""

from alembic import context
from sqlalchemy import pool

import crm.models  # noqa: F401  (registers every table on Base.metadata)
from crm.db import Base, create_db_engine
from crm.settings import Settings

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """The URL given by the caller, else the deployment's settings."""
    return config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    """Emit SQL without a connection (`alembic upgrade --sql`)."""
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database; SQLite alters tables in batch mode."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_db_engine(database_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
