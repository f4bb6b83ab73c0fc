"""The scheduler process (`python -m scheduler`): periodic work that needs no request."""
