"""A web process killed after answering 200 loses nothing and sends nothing twice."""

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import requests
import time_machine
from sqlalchemy import select

from app import create_app
from crm.clock import utcnow
from crm.models import EVENT_DONE, InboundEvent
from tests import line_payloads as lp
from tests import sandbox_admin as sb
from tests.conftest import TEST_SECRET, TEST_TOKEN, wait_until

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_gunicorn(db, line, port):
    env = {
        **os.environ,
        "LINE_CHANNEL_SECRET": TEST_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TEST_TOKEN,
        "LINE_API_HOST": line.url,
        "DATABASE_URL": db.url,
        "SECRET_KEY": "k" * 32,
        "WEBHOOK_WORKERS": "2",
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen(
        [
            gunicorn,
            "app:create_app()",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            "1",
            "-k",
            "gthread",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _healthy(port), timeout=30)
    except AssertionError:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        raise
    return process


def _healthy(port) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_killed_worker_loses_no_event_and_sends_no_duplicate(db, line, settings):
    users = [sb.create_user(line, f"客{n}") for n in range(6)]
    sb.configure(line, reply_token_ttl=0)  # every reply falls back to a push with a retry key
    sb.add_fault(line, endpoint="push", latency_ms=2500, count=None)
    port = _free_port()
    process = _start_gunicorn(db, line, port)
    try:
        for user in users:
            body = lp.body_of(lp.follow(user))
            response = requests.post(
                f"http://127.0.0.1:{port}/line/webhook",
                data=body,
                headers={
                    "X-Line-Signature": lp.sign(TEST_SECRET, body),
                    "Content-Type": "application/json",
                },
                timeout=5,
            )
            assert response.status_code == 200
        time.sleep(1.0)  # pushes are now in flight inside the sandbox
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    with db.read_session() as session:
        pending = [e for e in session.scalars(select(InboundEvent)) if e.status != EVENT_DONE]
    assert pending, "the kill came too late to test recovery"

    wait_until(lambda: all(len(sb.delivered(line, u)) <= 1 for u in users), timeout=5)
    time.sleep(2.0)  # let the sandbox finish the requests the dead process left behind
    sb.clear_faults(line)
    recovered = create_app(settings)
    try:
        with time_machine.travel(utcnow() + timedelta(minutes=3), tick=True):
            recovered.extensions["line_crm"].dispatcher.drain()
    finally:
        recovered.extensions["line_crm"].line.close()
        recovered.extensions["line_crm"].db.dispose()

    with db.read_session() as session:
        statuses = [e.status for e in session.scalars(select(InboundEvent))]
    assert statuses == [EVENT_DONE] * len(users)
    for user in users:
        assert len(sb.delivered(line, user)) == 1, user


def test_separate_worker_process_handles_what_the_web_stored(db, line, post_events):
    user = sb.create_user(line, "ワーカー")
    env = {
        **os.environ,
        "LINE_CHANNEL_SECRET": TEST_SECRET,
        "LINE_CHANNEL_ACCESS_TOKEN": TEST_TOKEN,
        "LINE_API_HOST": line.url,
        "DATABASE_URL": db.url,
        "SECRET_KEY": "k" * 32,
        "PROCESS_EVENTS": "worker",
        "EVENT_POLL_MS": "100",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.worker"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert post_events(lp.follow(user), lp.text(user, "help")).status_code == 200
        delivered = wait_until(
            lambda: len(sb.delivered(line, user)) == 2 and sb.delivered(line, user)
        )
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(10)
    assert [d["message"]["type"] for d in delivered] == ["flex", "text"]
