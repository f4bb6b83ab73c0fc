"""Operator commands: `flask --app app db upgrade`, `api-token`, `bot-text`, `create-staff`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from composition import Services
from crm import migrations
from crm.api_tokens import create_api_token
from crm.audit import record_audit
from crm.bot_texts import DEFAULT_TEXTS, UnknownTextKey, load_texts, set_text
from crm.clock import utcnow
from crm.models import ROLES
from crm.staff import StaffError, create_staff

db_cli = AppGroup("db", help="Database migrations (Alembic).")


def _services(app: Flask) -> Services:
    return app.extensions["line_crm"]


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    migrations.upgrade(_services(current_app).settings.database_url, revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' empties the database)."""
    migrations.downgrade(_services(current_app).settings.database_url, revision)
    click.echo(f"database at {revision}")


@db_cli.command("check")
def db_check() -> None:
    """Fail if the models and the migrated database disagree."""
    diffs = migrations.differences(_services(current_app).db.engine)
    if diffs:
        raise click.ClickException(f"models and migrations disagree: {diffs}")
    click.echo("models and migrations agree")


@click.command("api-token")
@with_appcontext
@click.argument("name")
def api_token(name: str) -> None:
    """Create an API token called NAME; it is printed once and stored only as a hash."""
    with _services(current_app).db.transaction() as session:
        _token, plain = create_api_token(session, name)
    click.echo(plain)


@click.command("bot-text")
@with_appcontext
@click.argument("key", required=False)
@click.argument("value", required=False)
@click.option("--reset", is_flag=True, help="Restore KEY's default.")
def bot_text(key: str | None, value: str | None, reset: bool) -> None:
    """Show the bot's texts, or set KEY to VALUE (e.g. greeting_title, help, ack, shop_name)."""
    db = _services(current_app).db
    if key is None:
        with db.read_session() as session:
            for name, text in load_texts(session).items():
                click.echo(f"{name}: {text!r}")
        return
    if value is None and not reset:
        raise click.UsageError("give a VALUE, or --reset")
    try:
        with db.transaction() as session:
            set_text(session, key, None if reset else value)
    except UnknownTextKey:
        raise click.BadParameter(f"unknown key; one of {', '.join(DEFAULT_TEXTS)}") from None
    click.echo(f"{key} updated")


@click.command("create-staff")
@with_appcontext
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="agent", show_default=True)
@click.option("--name", "display_name", default="", help="Name shown to colleagues.")
@click.password_option(
    envvar="STAFF_PASSWORD", help="The password (or STAFF_PASSWORD); asked for when not given."
)
def create_staff_command(email: str, role: str, display_name: str, password: str) -> None:
    """Create an inbox account for EMAIL with the given role."""
    try:
        with _services(current_app).db.transaction() as session:
            staff = create_staff(session, email, password, role, display_name)
            detail = {"email": staff.email, "role": role, "via": "cli"}
            record_audit(
                session, None, "staff.create", utcnow(), target=("staff", staff.id), detail=detail
            )
    except StaffError as exc:
        raise click.ClickException(STAFF_ERRORS.get(str(exc), str(exc))) from None
    click.echo(f"{role} {staff.email} created")


STAFF_ERRORS = {
    "password_too_short": "the password must be at least 10 characters",
    "email_invalid": "that is not an e-mail address",
    "email_taken": "a staff member with this e-mail already exists",
}


def register_commands(app: Flask) -> None:
    """Attach the commands to the app's CLI."""
    app.cli.add_command(db_cli)
    for command in (api_token, bot_text, create_staff_command):
        app.cli.add_command(command)
