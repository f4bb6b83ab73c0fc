"""Talks to the LINE sandbox's admin API over HTTP, as a test would drive a real fake."""

from __future__ import annotations

from typing import Any

import requests


def create_user(line, display_name: str, **fields: Any) -> str:
    response = requests.post(
        f"{line.url}/_sandbox/users", json={"display_name": display_name, **fields}, timeout=5
    )
    assert response.status_code == 201, response.text
    return response.json()["user_id"]


def create_users(line, users: list[dict]) -> int:
    """Many users in one call (`user_id`, `display_name`, optional `friend`, `blocked`...)."""
    response = requests.post(f"{line.url}/_sandbox/users/batch", json={"users": users}, timeout=60)
    assert response.status_code == 201, response.text
    return response.json()["created"]


def user_event(line, user_id: str, action: str, **body: Any) -> dict:
    """follow / unfollow / events through the sandbox, which signs and sends the webhook."""
    path = f"{line.url}/_sandbox/users/{user_id}/{action}"
    response = requests.post(path, json=body or None, timeout=15)
    assert response.status_code == 200, response.text
    return response.json()


def delivered(line, user_id: str) -> list[dict]:
    response = requests.get(f"{line.url}/_sandbox/users/{user_id}/messages", timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def add_fault(line, **rule: Any) -> None:
    response = requests.post(f"{line.url}/_sandbox/faults", json={"rules": [rule]}, timeout=5)
    assert response.status_code in (200, 201), response.text


def configure(line, **config: Any) -> None:
    response = requests.post(f"{line.url}/_sandbox/config", json=config, timeout=5)
    assert response.status_code == 200, response.text


def api_requests(line) -> list[dict]:
    response = requests.get(f"{line.url}/_sandbox/requests", timeout=5)
    return response.json()["requests"]


def clear_faults(line) -> None:
    response = requests.delete(f"{line.url}/_sandbox/faults", timeout=5)
    assert response.status_code in (200, 204), response.text


def reply_tokens(line, user_id: str, count: int) -> list[str]:
    """Reply tokens for webhooks a test builds itself."""
    response = requests.post(
        f"{line.url}/_sandbox/users/{user_id}/reply-tokens", json={"count": count}, timeout=5
    )
    assert response.status_code == 200, response.text
    return response.json()["reply_tokens"]
