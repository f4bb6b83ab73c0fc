"""A local stand-in for the LINE platform: Messaging API, webhook sender, faults, phone page."""

SANDBOX_CHANNEL_SECRET = "0123456789abcdef0123456789abcdef"  # noqa: S105  (sandbox only)
SANDBOX_ACCESS_TOKEN = "sandbox-access-token"  # noqa: S105  (sandbox only)
