"""Which menu each customer should see, and the per-user links that make LINE show it.

A following customer who carries the tag of an active, published tag menu is linked to that
menu (the highest priority wins when several match); everyone else has no link and sees the
default menu. `plan_links` compares that wish with the links LINE has (our rows) and says what
to link and unlink; the caller does it on LINE in bulk and records it here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm.db import dialect_insert_for
from crm.models import FOLLOWING, Customer, CustomerTag
from crm.rich_menus.models import CustomerRichMenu, RichMenu

MAX_USERS_PER_CALL = 500  # LINE's bulk link and unlink take at most 500 users


@dataclass(frozen=True)
class Link:
    """A customer and the menu they are (or should be) linked to."""

    customer_id: int
    line_user_id: str
    rich_menu_id: int
    line_rich_menu_id: str


@dataclass
class LinkPlan:
    """What to change on LINE: links grouped by LINE menu id, and customers to unlink."""

    link: dict[str, list[Link]] = field(default_factory=dict)
    unlink: list[Link] = field(default_factory=list)
    released: set[str] = field(default_factory=set)  # LINE menu ids customers leave

    @property
    def empty(self) -> bool:
        return not self.link and not self.unlink


def desired_links(session: Session) -> dict[int, Link]:
    """Customer id → the tag menu they should see (customers seeing the default are absent)."""
    statement = (
        select(
            CustomerTag.customer_id, Customer.line_user_id, RichMenu.id, RichMenu.line_rich_menu_id
        )
        .join(RichMenu, RichMenu.tag_id == CustomerTag.tag_id)
        .join(Customer, Customer.id == CustomerTag.customer_id)
        .where(
            RichMenu.active,
            RichMenu.line_rich_menu_id.is_not(None),
            Customer.follow_status == FOLLOWING,
        )
        .order_by(RichMenu.priority.desc(), RichMenu.id)
    )
    wanted: dict[int, Link] = {}
    for row in session.execute(statement):
        wanted.setdefault(row[0], Link(*row))  # the first row is the highest priority
    return wanted


def current_links(session: Session) -> dict[int, Link]:
    """Customer id → the menu LINE has linked to them, as we recorded it."""
    statement = select(
        CustomerRichMenu.customer_id,
        Customer.line_user_id,
        CustomerRichMenu.rich_menu_id,
        CustomerRichMenu.line_rich_menu_id,
    ).join(Customer, Customer.id == CustomerRichMenu.customer_id)
    return {row[0]: Link(*row) for row in session.execute(statement)}


def plan_links(wanted: dict[int, Link], current: dict[int, Link]) -> LinkPlan:
    """Link whoever lacks their menu or has another; unlink whoever should see the default."""
    plan = LinkPlan()
    for customer_id, link in wanted.items():
        had = current.get(customer_id)
        if had != link:
            plan.link.setdefault(link.line_rich_menu_id, []).append(link)
        if had is not None and had.line_rich_menu_id != link.line_rich_menu_id:
            plan.released.add(had.line_rich_menu_id)
    plan.unlink = [link for customer_id, link in current.items() if customer_id not in wanted]
    plan.released |= {link.line_rich_menu_id for link in plan.unlink}
    return plan


def in_calls(links: list[Link]) -> list[list[Link]]:
    """Links split into LINE calls of at most 500 users."""
    return [links[i : i + MAX_USERS_PER_CALL] for i in range(0, len(links), MAX_USERS_PER_CALL)]


def record_linked(session: Session, links: list[Link], now: datetime) -> None:
    """LINE accepted these links: remember them (replacing a customer's earlier one)."""
    rows = [
        {
            "customer_id": link.customer_id,
            "rich_menu_id": link.rich_menu_id,
            "line_rich_menu_id": link.line_rich_menu_id,
            "linked_at": now,
        }
        for link in links
    ]
    statement = dialect_insert_for(session)(CustomerRichMenu).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={
            key: statement.excluded[key]
            for key in ("rich_menu_id", "line_rich_menu_id", "linked_at")
        },
    )
    session.execute(statement)


def record_unlinked(session: Session, links: list[Link]) -> None:
    """LINE accepted these unlinks: the customers see the default menu now."""
    customer_ids = [link.customer_id for link in links]
    session.execute(delete(CustomerRichMenu).where(CustomerRichMenu.customer_id.in_(customer_ids)))


def retired_line_ids(session: Session, candidates: set[str]) -> set[str]:
    """Those LINE menu ids no menu and no customer link uses any more (safe to delete)."""
    if not candidates:
        return set()
    in_menus = select(RichMenu.line_rich_menu_id).where(RichMenu.line_rich_menu_id.in_(candidates))
    in_links = select(CustomerRichMenu.line_rich_menu_id).where(
        CustomerRichMenu.line_rich_menu_id.in_(candidates)
    )
    used = set(session.scalars(in_menus)) | set(session.scalars(in_links))
    return candidates - used
