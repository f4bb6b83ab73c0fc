"""The sandbox server: the API, the admin controls and the phone page on one port."""

from __future__ import annotations

import threading

from flask import Flask, jsonify, render_template
from werkzeug.serving import WSGIRequestHandler, make_server

from sandbox.admin import bp as admin_bp
from sandbox.api import bp as api_bp
from sandbox.rich_menu_api import bp as rich_menu_bp
from sandbox.state import SandboxState


def create_sandbox_app(state: SandboxState) -> Flask:
    """A WSGI app serving one sandbox state."""
    app = Flask(__name__)
    app.config["SANDBOX_STATE"] = state
    app.json.ensure_ascii = False
    app.register_blueprint(api_bp)
    app.register_blueprint(rich_menu_bp)
    app.register_blueprint(admin_bp)

    @app.get("/")
    def phone():
        return render_template("phone.html")

    @app.errorhandler(404)
    def not_found(_exc):
        return jsonify({"message": "Not found"}), 404

    @app.errorhandler(405)
    def not_allowed(_exc):
        return jsonify({"message": "Method not allowed"}), 405

    return app


class QuietRequestHandler(WSGIRequestHandler):
    """Keeps connections open between requests as LINE's API does (HTTP/1.1), and writes no
    access log line per request: tests and benchmarks make thousands."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code="-", size="-") -> None:
        pass


class SandboxServer:
    """The sandbox on a real port, served from a background thread."""

    def __init__(
        self,
        channel_secret: str,
        access_token: str,
        webhook_url: str,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.state = SandboxState(channel_secret, access_token, webhook_url)
        self._server = make_server(
            host,
            port,
            create_sandbox_app(self.state),
            threaded=True,
            request_handler=QuietRequestHandler,
        )
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread: threading.Thread | None = None

    @property
    def webhook_url(self) -> str:
        return self.state.webhook_url

    @webhook_url.setter
    def webhook_url(self, value: str) -> None:
        self.state.webhook_url = value

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="line-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(5)

    def serve_forever(self) -> None:
        self._server.serve_forever()
