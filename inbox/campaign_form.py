"""The campaign form: its fields to a CampaignInput and a stored campaign back to its fields.

Messages are up to five blocks, each a text (with {name}), an image (an https URL), a Flex
card from flex_templates/ with its values as `key: value` lines, or a coupon (each recipient
gets a code of their own). The schedule is now, once at a shop-time date-time, or weekly on
chosen days at a time (or any cron rule, for the rest).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crm.campaigns import CampaignInput
from crm.flex import TEMPLATE_DIR
from crm.line_limits import MAX_MESSAGES_PER_REQUEST
from crm.loyalty.coupons import list_coupons

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKLY = re.compile(r"^(\d{1,2}) (\d{1,2}) \* \* ([a-z,]+)$")
NOW, ONCE, WEEKLY_RULE, CRON = "now", "once", "weekly", "cron"
KINDS = ("text", "image", "flex", "coupon")


@dataclass
class Block:
    """One message block of the form."""

    kind: str = "text"
    text: str = ""
    image_url: str = ""
    template: str = ""
    values: str = ""  # key: value lines
    raw: str = ""  # a stored Flex message as JSON, kept as is when no template is chosen
    coupon_id: str = ""

    @property
    def blank(self) -> bool:
        if self.kind == "coupon":
            return not self.coupon_id
        return not (self.text.strip() or self.image_url.strip() or self.template or self.raw)


@dataclass
class CampaignFields:
    name: str = ""
    audience: str = "all"  # "all" or a segment id
    topic: str = ""
    holdout_percent: int = 0
    when: str = NOW
    send_at_local: str = ""  # YYYY-MM-DDTHH:MM in the shop's time zone
    weekdays: list[str] = field(default_factory=list)
    weekly_time: str = "10:30"
    cron: str = ""
    blocks: list[Block] = field(default_factory=list)


def flex_templates() -> list[str]:
    """The Flex templates staff can choose (file names without .json)."""
    return sorted(
        path.stem for path in TEMPLATE_DIR.glob("*.json") if path.stem not in INTERNAL_TEMPLATES
    )


INTERNAL_TEMPLATES = {"flow_choices"}  # the bot's own cards, not for campaigns


def coupon_choices(session: Session) -> list[tuple[int, str]]:
    """The active coupons staff can send, as (id, title)."""
    return [(coupon.id, coupon.title) for coupon in list_coupons(session, active_only=True)]


def fields_from_form(form) -> CampaignFields:
    blocks = [
        Block(
            kind=form.get(f"m{n}_kind", "text"),
            text=form.get(f"m{n}_text", ""),
            image_url=form.get(f"m{n}_image", "").strip(),
            template=form.get(f"m{n}_template", ""),
            values=form.get(f"m{n}_values", ""),
            raw=form.get(f"m{n}_raw", ""),
            coupon_id=form.get(f"m{n}_coupon", "").strip(),
        )
        for n in range(MAX_MESSAGES_PER_REQUEST)
    ]
    return CampaignFields(
        name=form.get("name", "").strip()[:100],
        audience=form.get("audience", "all"),
        topic=form.get("topic", ""),
        holdout_percent=form.get("holdout_percent", 0, type=int) or 0,
        when=form.get("when", NOW),
        send_at_local=form.get("send_at", ""),
        weekdays=[day for day in form.getlist("weekdays") if day in WEEKDAYS],
        weekly_time=form.get("weekly_time", "10:30"),
        cron=form.get("cron", "").strip(),
        blocks=blocks,
    )


def campaign_input(fields: CampaignFields, timezone: str) -> CampaignInput:
    """What crm/campaigns.py checks; a schedule it cannot read becomes a clear error there."""
    return CampaignInput(
        name=fields.name,
        messages=[_message(block) for block in fields.blocks if not block.blank],
        segment_id=int(fields.audience) if fields.audience.isdigit() else None,
        topic=fields.topic or None,
        holdout_percent=fields.holdout_percent,
        send_at=_send_at(fields, timezone),
        recurrence=_recurrence(fields),
    )


def _message(block: Block) -> dict[str, Any]:
    return MESSAGE_BUILDERS.get(block.kind, _text)(block)


def _text(block: Block) -> dict[str, Any]:
    return {"type": "text", "text": block.text.strip()}


def _image(block: Block) -> dict[str, Any]:
    return {
        "type": "image",
        "originalContentUrl": block.image_url,
        "previewImageUrl": block.image_url,
    }


def _flex(block: Block) -> dict[str, Any]:
    if not block.template and block.raw:
        try:
            return json.loads(block.raw)
        except ValueError:
            return {"type": "flex"}  # refused by the checks with a clear message
    values = {}
    for line in block.values.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            values[key.strip()] = value.strip()
    return {"type": "flex", "template": block.template, "values": values}


def _coupon(block: Block) -> dict[str, Any]:
    coupon_id = int(block.coupon_id) if block.coupon_id.isdigit() else block.coupon_id
    return {"type": "coupon", "coupon_id": coupon_id}  # refused with a clear message if bad


MESSAGE_BUILDERS = {"text": _text, "image": _image, "flex": _flex, "coupon": _coupon}


def _send_at(fields: CampaignFields, timezone: str) -> datetime | None:
    if fields.when != ONCE:
        return None
    try:
        local = datetime.fromisoformat(fields.send_at_local)
    except ValueError:
        return datetime(2000, 1, 1, tzinfo=ZoneInfo(timezone))  # refused as in the past
    return local.replace(tzinfo=ZoneInfo(timezone))


def _recurrence(fields: CampaignFields) -> str | None:
    if fields.when == CRON:
        return fields.cron or "?"
    if fields.when != WEEKLY_RULE:
        return None
    hour, _, minute = fields.weekly_time.partition(":")
    if not (hour.isdigit() and minute.isdigit() and fields.weekdays):
        return "?"  # refused with the rule's error
    return f"{int(minute)} {int(hour)} * * {','.join(fields.weekdays)}"


def fields_of(campaign, timezone: str) -> CampaignFields:
    """A stored campaign as form fields (to edit it)."""
    blocks = [_block(message) for message in campaign.messages]
    when, weekdays, weekly_time, cron = _schedule_of(campaign)
    local = campaign.send_at.astimezone(ZoneInfo(timezone)) if campaign.send_at else None
    return CampaignFields(
        name=campaign.name,
        audience=str(campaign.segment_id) if campaign.segment_id else "all",
        topic=campaign.topic.name if campaign.topic else "",
        holdout_percent=campaign.holdout_percent,
        when=when,
        send_at_local=local.strftime("%Y-%m-%dT%H:%M") if local else "",
        weekdays=weekdays,
        weekly_time=weekly_time,
        cron=cron,
        blocks=blocks,
    )


def _block(message: dict[str, Any]) -> Block:
    kind = message.get("type")
    if kind == "image":
        return Block(kind="image", image_url=message.get("originalContentUrl", ""))
    if kind == "flex":
        return Block(kind="flex", raw=json.dumps(message, ensure_ascii=False))
    if kind == "coupon":
        return Block(kind="coupon", coupon_id=str(message.get("coupon_id", "")))
    return Block(kind="text", text=message.get("text", ""))


def _schedule_of(campaign) -> tuple[str, list[str], str, str]:
    rule = campaign.recurrence
    if not rule:
        return (ONCE if campaign.send_at else NOW), [], "10:30", ""
    weekly = WEEKLY.match(rule)
    if weekly and all(day in WEEKDAYS for day in weekly.group(3).split(",")):
        minute, hour, days = weekly.groups()
        return WEEKLY_RULE, days.split(","), f"{int(hour):02d}:{int(minute):02d}", ""
    return CRON, [], "10:30", rule
