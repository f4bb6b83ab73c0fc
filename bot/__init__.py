"""The LINE side: webhook, event routing, the LINE API client, message builders.

Only this package imports the LINE SDK.
"""
