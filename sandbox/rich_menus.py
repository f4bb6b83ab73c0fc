"""The channel's rich menus as LINE keeps them: menus, images, the default, per-user links and
aliases. A user sees their linked menu, else the default
(https://developers.line.biz/en/docs/messaging-api/using-rich-menus/)."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

MAX_RICH_MENUS = 1000


@dataclass(frozen=True)
class Image:
    body: bytes
    content_type: str


class RichMenus:
    """Every method is safe to call from any thread."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.menus: dict[str, dict] = {}  # rich menu ID -> the menu as created, with its ID
        self.images: dict[str, Image] = {}
        self.default_id: str | None = None
        self.links: dict[str, str] = {}  # user ID -> rich menu ID
        self.aliases: dict[str, str] = {}  # alias ID -> rich menu ID

    def create(self, menu: dict) -> str | None:
        """Store the menu under a new ID; None if the channel already has the most LINE allows."""
        rich_menu_id = "richmenu-" + secrets.token_hex(16)
        with self._lock:
            if len(self.menus) >= MAX_RICH_MENUS:
                return None
            self.menus[rich_menu_id] = {"richMenuId": rich_menu_id, **menu}
        return rich_menu_id

    def get(self, rich_menu_id: str) -> dict | None:
        with self._lock:
            return self.menus.get(rich_menu_id)

    def all(self) -> list[dict]:
        """Every menu, oldest first."""
        with self._lock:
            return list(self.menus.values())

    def delete(self, rich_menu_id: str) -> bool:
        """Forget the menu, its image, and its use as default or a user's menu; aliases that
        name it stay (a switch to them then fails with RICHMENU_NOTFOUND, as on LINE)."""
        with self._lock:
            if self.menus.pop(rich_menu_id, None) is None:
                return False
            self.images.pop(rich_menu_id, None)
            if self.default_id == rich_menu_id:
                self.default_id = None
            for user_id in [u for u, linked in self.links.items() if linked == rich_menu_id]:
                del self.links[user_id]
            return True

    def attach_image(self, rich_menu_id: str, image: Image) -> bool:
        """Give the menu its image; False if it already has one (LINE's images are final)."""
        with self._lock:
            if rich_menu_id in self.images:
                return False
            self.images[rich_menu_id] = image
            return True

    def image(self, rich_menu_id: str) -> Image | None:
        with self._lock:
            return self.images.get(rich_menu_id)

    def has_image(self, rich_menu_id: str) -> bool:
        with self._lock:
            return rich_menu_id in self.images

    def set_default(self, rich_menu_id: str | None) -> None:
        with self._lock:
            self.default_id = rich_menu_id

    def link(self, user_ids: list[str], rich_menu_id: str) -> None:
        with self._lock:
            self.links.update(dict.fromkeys(user_ids, rich_menu_id))

    def unlink(self, user_ids: list[str]) -> None:
        with self._lock:
            for user_id in user_ids:
                self.links.pop(user_id, None)

    def linked_id(self, user_id: str) -> str | None:
        with self._lock:
            return self.links.get(user_id)

    def shown_to(self, user_id: str) -> dict | None:
        """The menu the user sees: their own, else the default."""
        with self._lock:
            return self.menus.get(self.links.get(user_id) or self.default_id or "")

    def add_alias(self, alias_id: str, rich_menu_id: str) -> bool:
        """Name the menu; False if the name is taken."""
        with self._lock:
            if alias_id in self.aliases:
                return False
            self.aliases[alias_id] = rich_menu_id
            return True

    def update_alias(self, alias_id: str, rich_menu_id: str) -> bool:
        """Point an existing name at another menu; False if there is no such name."""
        with self._lock:
            if alias_id not in self.aliases:
                return False
            self.aliases[alias_id] = rich_menu_id
            return True

    def alias(self, alias_id: str) -> str | None:
        with self._lock:
            return self.aliases.get(alias_id)

    def all_aliases(self) -> dict[str, str]:
        with self._lock:
            return dict(self.aliases)

    def delete_alias(self, alias_id: str) -> bool:
        with self._lock:
            return self.aliases.pop(alias_id, None) is not None
