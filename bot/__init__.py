"""The LINE side: webhook, event handling and sending, flows in the chat, the LINE API client,
message builders.

Only this package imports the LINE SDK.
"""
