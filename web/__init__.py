"""Flask glue shared by the blueprints: the per-process services, request sessions, errors."""
