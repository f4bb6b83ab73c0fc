"""Rich menu definitions and which menu each customer is linked to on LINE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base, BigId, JSONDocument, created_at, updated_at

SIZE_LARGE = "large"  # 2500×1686
SIZE_COMPACT = "compact"  # 2500×843
SIZES = (SIZE_LARGE, SIZE_COMPACT)

# A menu's state on LINE.
MENU_DRAFT = "draft"  # edited since it was last published (or never published)
MENU_PUBLISHED = "published"
MENU_FAILED = "failed"  # LINE refused it: `last_error` says why


class RichMenu(Base):
    """A menu: a layout of areas, each with a label and an action. With no tag it is the
    shop's default menu; with a tag, customers carrying that tag are linked to it."""

    __tablename__ = "rich_menus"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    size: Mapped[str] = mapped_column(String(8), default=SIZE_LARGE)
    layout: Mapped[str] = mapped_column(String(8))  # columns x rows, e.g. "3x2"
    areas: Mapped[list[dict[str, Any]]] = mapped_column(JSONDocument)
    chat_bar_text: Mapped[str] = mapped_column(String(14))
    theme: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)  # colours
    tag_id: Mapped[int | None] = mapped_column(ForeignKey("tags.id", ondelete="SET NULL"))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # several tags: highest wins
    status: Mapped[str] = mapped_column(String(16), default=MENU_DRAFT)
    line_rich_menu_id: Mapped[str | None] = mapped_column(String(100))
    image_sha256: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]


class CustomerRichMenu(Base):
    """The per-user menu LINE has for a customer (a row only while one is linked)."""

    __tablename__ = "customer_rich_menus"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    rich_menu_id: Mapped[int] = mapped_column(ForeignKey("rich_menus.id", ondelete="CASCADE"))
    line_rich_menu_id: Mapped[str] = mapped_column(String(100))
    linked_at: Mapped[datetime]
