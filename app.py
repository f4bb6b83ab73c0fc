"""The Flask application factory; gunicorn runs "app:create_app()"."""

from __future__ import annotations

import logging

from flask import Flask

from composition import build_services
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


def _register_blueprints(app: Flask) -> None:
    from api import bp as api_bp
    from bot.webhook import bp as webhook_bp
    from inbox.web import register_inbox
    from request_scope import close_request_session
    from web.cli import register_commands
    from web.converters import CONVERTERS
    from web.errors import register_error_pages
    from web.health import bp as health_bp
    from web.health import register_backlog_banner
    from web.qr import bp as qr_bp

    app.url_map.converters.update(CONVERTERS)  # before any route uses <id:…>
    for blueprint in (webhook_bp, api_bp, health_bp, qr_bp):
        app.register_blueprint(blueprint)
    register_inbox(app)
    register_error_pages(app)
    register_backlog_banner(app)
    app.teardown_appcontext(close_request_session)
    register_commands(app)
