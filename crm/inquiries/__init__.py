"""Inquiries: what a customer asked that the bot did not settle, routed to staff by category,
with the bot paused while staff handle it and the times reports measure (first response,
resolution)."""
