"""The CRM domain: models and one service module per use case.

Never imports Flask or the LINE SDK, so the scheduler, the CLI and tests use it directly.
"""
