"""Every model change ships a migration: the migrated schema must equal the models."""

from crm import migrations
from crm.db import Database


def test_models_and_migrations_agree(db):
    assert migrations.differences(db.engine) == []


def test_migrations_run_down_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}"
    migrations.upgrade(url)
    migrations.downgrade(url, "base")
    migrations.upgrade(url)
    database = Database(url)
    assert migrations.differences(database.engine) == []
    database.dispose()
