"""Staff-facing HTTP: the JSON API now, the web inbox later."""
