"""The Flask application factory; gunicorn runs "app:create_app()"."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask

from bot.delivery import Deliverer
from bot.dispatcher import Dispatcher
from bot.line_client import LineClient
from bot.processing import EventProcessor
from bot.profiles import ProfileSync
from crm.db import Database
from crm.settings import Settings

log = logging.getLogger(__name__)


def create_app(config: Settings | None = None) -> Flask:
    """Build the app from settings (the environment and .env when none are given)."""
    if config is None:
        from dotenv import load_dotenv

        load_dotenv()
        config = Settings.from_env()
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(
        SECRET_KEY=config.secret_key,
        JSON_AS_ASCII=False,
        SESSION_COOKIE_NAME="line_crm_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=config.staff_session_lifetime,
        MAX_FORM_MEMORY_SIZE=1024 * 1024,
    )
    app.json.ensure_ascii = False
    if config.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = config.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.extensions["line_crm"] = build_services(config)
    _register_blueprints(app)
    if config.sandbox:
        log.warning(
            "SANDBOX MODE: no LINE channel configured; talking to the local LINE sandbox at %s",
            config.line_api_host,
        )
    return app


def build_services(settings: Settings):
    """The database, LINE client and background workers one process shares."""
    from web.context import Services

    db = Database(settings.database_url)
    line = LineClient(
        settings.line_channel_access_token, settings.line_api_host, settings.line_timeout
    )
    deliverer = Deliverer(db, line)
    profiles = ProfileSync(db, line)
    lease = timedelta(seconds=settings.lane_lease_seconds)
    processor = EventProcessor(db, deliverer, profiles, lease, settings.shop_timezone)
    dispatcher = Dispatcher(
        db, processor, deliverer, profiles, settings.webhook_workers, settings.poll_interval
    )
    return Services(settings, db, line, dispatcher)


def _register_blueprints(app: Flask) -> None:
    from bot.webhook import bp as webhook_bp
    from inbox.api import bp as api_bp
    from inbox.web import register_inbox
    from web.cli import register_commands
    from web.context import close_request_session
    from web.health import bp as health_bp

    for blueprint in (webhook_bp, api_bp, health_bp):
        app.register_blueprint(blueprint)
    register_inbox(app)
    app.teardown_appcontext(close_request_session)
    register_commands(app)
