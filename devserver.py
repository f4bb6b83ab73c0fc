"""`make run`: the bot, its worker and the scheduler's jobs in one process on one port and,
without a LINE channel, the LINE sandbox on another."""

from __future__ import annotations

import logging
import os

from apscheduler.schedulers.background import BackgroundScheduler
from dotenv import load_dotenv
from werkzeug.serving import make_server

from app import create_app
from bot.rich_menu import publish_menu
from crm.faq.samples import seed_sample_faqs
from crm.loyalty.samples import seed_cafe_example
from crm.rich_menus.menus import default_menu
from crm.settings import SANDBOX_PORT, Settings
from crm.surveys import seed_sample_survey
from scheduler.runner import SenderLoops, add_jobs
from worker import Worker


def start_sandbox(settings: Settings):
    """The local LINE stand-in, sending webhooks to this bot."""
    from sandbox.server import SandboxServer

    port = int(os.environ.get("SANDBOX_PORT", SANDBOX_PORT))
    return SandboxServer(
        channel_secret=settings.line_channel_secret,
        access_token=settings.line_channel_access_token,
        webhook_url=f"http://127.0.0.1:{settings.port}/line/webhook",
        port=port,
    ).start()


def main() -> None:
    """Serve until Ctrl-C."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    load_dotenv()
    settings = Settings.from_env()
    app = create_app(settings)
    sandbox = start_sandbox(settings) if settings.sandbox else None
    if sandbox:
        _offer_sample_survey(app)
        _show_default_rich_menu(app)
    worker = Worker(app.extensions["line_crm"])  # production runs it as its own process
    worker.start()
    jobs = BackgroundScheduler(timezone="UTC")  # production: python -m scheduler
    add_jobs(jobs, app.extensions["line_crm"])
    jobs.start()
    senders = SenderLoops(app.extensions["line_crm"], loops=1)  # the scheduler's senders
    senders.start()
    host = os.environ.get("HOST", "127.0.0.1")
    server = make_server(host, settings.port, app, threaded=True)
    _print_banner(settings, sandbox, host)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        jobs.shutdown(wait=False)
        senders.stop()
        worker.stop()
        if sandbox:
            sandbox.stop()


def _offer_sample_survey(app) -> None:
    """A sample survey to try on the phone page (type アンケート), the café's stamp card and
    coupons (type スタンプカード) and its FAQs (ask a question); each seeded once, deletable."""
    log = logging.getLogger("devserver")
    with app.extensions["line_crm"].db.transaction() as session:
        if seed_sample_survey(session):
            log.info("seeded the sample survey: type アンケート")
        if seed_cafe_example(session):
            log.info("seeded the café's stamp card and welcome coupon: type スタンプカード")
        if seed_sample_faqs(session):
            log.info("seeded the café's FAQs: ask 駐車場ある？ or 何時まで開いてますか")


def _show_default_rich_menu(app) -> None:
    """Publish the default rich menu to this run's sandbox, so the phone page shows it."""
    log = logging.getLogger("devserver")
    services = app.extensions["line_crm"]
    with services.db.transaction() as session:
        menu_id = default_menu(session).id
    published = publish_menu(services.db, services.settings, menu_id)
    if published.error:
        log.warning("the default rich menu was not shown: %s", published.error)
    else:
        log.info("the default rich menu is shown on the phone page")


def _print_banner(settings: Settings, sandbox, host: str) -> None:
    base = f"http://{host}:{settings.port}"
    lines = ["", "LINE CRM is running."]
    if sandbox:
        lines += [
            "",
            "  *** SANDBOX MODE: no LINE channel configured; nothing reaches real LINE users ***",
            f"  Phone page (chat as a LINE user): {sandbox.url}/",
        ]
    else:
        lines.append(
            f"  Webhook URL to enter in the LINE console: https://<your host>{'/line/webhook'}"
        )
    lines += [
        f"  Staff inbox: {base}/inbox/  (the first visit creates the admin account)",
        f"  Counter:     {base}/inbox/counter  (stamps and coupons, for a tablet)",
        f"  Health:      {base}/healthz",
        f"  API:         {base}/api/v1/openapi.json",
        "",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
