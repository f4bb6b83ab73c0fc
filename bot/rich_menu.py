"""Rich menus on LINE: publishing a menu (create, upload its picture on the data host, set it as
the default) and keeping per-user links true to tags, in bulk.
https://developers.line.biz/en/docs/messaging-api/using-rich-menus/

LINE's images are final, so a changed menu is published as a new LINE menu; its customers are
moved over and the old one is deleted once nothing uses it. Whatever LINE answers is written on
the menu row for the inbox; a failure leaves the menu LINE already shows in place."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bot.line_client import LineRefused, RichMenuApi
from crm.clock import utcnow
from crm.db import Database
from crm.rich_menus.definitions import line_menu
from crm.rich_menus.image import JapaneseFontMissing, MenuImage, render_menu
from crm.rich_menus.links import (
    LinkPlan,
    current_links,
    desired_links,
    in_calls,
    plan_links,
    record_linked,
    record_unlinked,
    retired_line_ids,
)
from crm.rich_menus.menus import line_name, mark_failed, mark_published, note_link_error
from crm.rich_menus.models import RichMenu
from crm.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    """What a publish did: LINE's new menu id, or the error now shown on the menu."""

    line_rich_menu_id: str | None = None
    error: str | None = None


def publish_menu(db: Database, settings: Settings, menu_id: int) -> Published:
    """Put the menu on LINE as it is now saved, then bring customers' links up to date."""
    with db.read_session() as session:
        menu = session.get(RichMenu, menu_id)
        if menu is None:
            return Published(error="no such menu")
        body = line_menu(menu, line_name(menu))
    with RichMenuApi(settings) as api:
        try:
            image = render_menu(menu)
            line_id = _create_on_line(api, body, image, menu.is_default)
        except (LineRefused, JapaneseFontMissing) as exc:
            with db.transaction() as session:
                mark_failed(session, session.get(RichMenu, menu_id), str(exc))
            return Published(error=str(exc))
        with db.transaction() as session:
            menu = session.get(RichMenu, menu_id)
            replaced = mark_published(session, menu, line_id, image.body, utcnow())
        sync_links(db, settings, api)
        _retire(db, api, {replaced} - {None})
    return Published(line_rich_menu_id=line_id)


def _create_on_line(api: RichMenuApi, body: dict, image: MenuImage, is_default: bool) -> str:
    """A new LINE menu with its picture (and made the default); none is left half-made."""
    line_id = api.create(body)
    try:
        api.upload(line_id, image)
        if is_default:
            api.set_default(line_id)
    except LineRefused:
        api.delete(line_id)
        raise
    return line_id


@dataclass
class Synced:
    linked: int = 0
    unlinked: int = 0
    errors: list[str] = field(default_factory=list)
    failed_menus: set[int] = field(default_factory=set)

    def note(self, db: Database, menu_id: int, error: str | None) -> None:
        """Keep LINE's refusal on the menu, or clear an earlier one when a call for it
        worked and none failed in this pass."""
        if error is None and menu_id in self.failed_menus:
            return
        if error is not None:
            self.failed_menus.add(menu_id)
        with db.transaction(background=True) as session:
            note_link_error(session, menu_id, error)


def sync_links(db: Database, settings: Settings, api: RichMenuApi | None = None) -> Synced:
    """Link customers to their tag menu and unlink those who should see the default, in calls
    of up to 500 users; each accepted call is recorded at once. A busy or unreachable LINE stops
    the pass (the next run carries on)."""
    with db.read_session() as session:
        plan = plan_links(desired_links(session), current_links(session))
    if plan.empty:
        return Synced()
    if api is None:
        with RichMenuApi(settings) as own:
            return sync_links(db, settings, own)
    synced = Synced()
    try:
        _link_all(db, api, plan, synced)
        _unlink_all(db, api, plan, synced)
    except LineRefused:
        pass  # noted on the menus; the next run carries on
    _retire(db, api, plan.released)
    return synced


def _link_all(db: Database, api: RichMenuApi, plan: LinkPlan, synced: Synced) -> None:
    for line_id, links in plan.link.items():
        for call in in_calls(links):
            try:
                api.link(line_id, [link.line_user_id for link in call])
            except LineRefused as exc:
                _refused(db, synced, call, f"Linking customers failed: {exc}", exc.transient)
                continue
            with db.transaction(background=True) as session:
                record_linked(session, call, utcnow())
            synced.linked += len(call)
            _cleared(db, synced, call)


def _unlink_all(db: Database, api: RichMenuApi, plan: LinkPlan, synced: Synced) -> None:
    for call in in_calls(plan.unlink):
        try:
            api.unlink([link.line_user_id for link in call])
        except LineRefused as exc:
            _refused(db, synced, call, f"Unlinking customers failed: {exc}", exc.transient)
            continue
        with db.transaction(background=True) as session:
            record_unlinked(session, call)
        synced.unlinked += len(call)
        _cleared(db, synced, call)


def _refused(db: Database, synced: Synced, call: list, error: str, transient: bool) -> None:
    """Note LINE's refusal on the menus of the call; a busy LINE ends the pass."""
    for menu_id in {link.rich_menu_id for link in call}:
        synced.note(db, menu_id, error)
    synced.errors.append(error)
    if transient:
        raise LineRefused(error, transient)


def _cleared(db: Database, synced: Synced, call: list) -> None:
    for menu_id in {link.rich_menu_id for link in call}:
        synced.note(db, menu_id, None)


def _retire(db: Database, api: RichMenuApi, candidates: set[str]) -> None:
    """Delete LINE menus that a republish replaced, once no menu or customer uses them."""
    with db.read_session() as session:
        unused = retired_line_ids(session, candidates)
    for line_id in sorted(unused):
        api.delete(line_id)
