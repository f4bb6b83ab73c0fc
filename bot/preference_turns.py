"""The preference centre in the chat (配信設定): topics as toggles, 配信停止 / 配信再開."""

from __future__ import annotations

from collections.abc import Callable

from bot.turn import Turn

COMMANDS: dict[str, Callable[[Turn], None]] = {}
POSTBACKS: dict[str, Callable[[Turn], None]] = {}
