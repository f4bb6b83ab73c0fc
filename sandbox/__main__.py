"""`python -m sandbox`: the LINE sandbox on its own, configured from the environment."""

import contextlib
import os

from sandbox import SANDBOX_ACCESS_TOKEN, SANDBOX_CHANNEL_SECRET
from sandbox.server import SandboxServer


def serve_forever_from_env() -> None:
    """Serve until killed; SANDBOX_PORT, SANDBOX_HOST, SANDBOX_WEBHOOK_URL, LINE_* from env."""
    server = SandboxServer(
        channel_secret=os.environ.get("LINE_CHANNEL_SECRET") or SANDBOX_CHANNEL_SECRET,
        access_token=os.environ.get("LINE_CHANNEL_ACCESS_TOKEN") or SANDBOX_ACCESS_TOKEN,
        webhook_url=os.environ.get("SANDBOX_WEBHOOK_URL", "http://127.0.0.1:5000/line/webhook"),
        host=os.environ.get("SANDBOX_HOST", "127.0.0.1"),
        port=int(os.environ.get("SANDBOX_PORT", "8090")),
    )
    print("*** LINE SANDBOX: a local stand-in for LINE; nothing here reaches real LINE users ***")
    print(f"Phone page: {server.url}/   webhooks go to {server.webhook_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    serve_forever_from_env()
