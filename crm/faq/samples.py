"""The sample café-restaurant's 31 FAQs (sample_faqs.json: 予約, 営業時間・アクセス, 商品, その
他): what `make run` seeds so the phone page answers questions at once, and the FAQs the
matching evaluation (tests/data/faq_questions.jsonl, bench/faq.py) is written against."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.faq.entries import FaqInput, create_faq
from crm.faq.models import Faq
from crm.shop_settings import read_setting, write_setting

SAMPLE_FILE = Path(__file__).with_name("sample_faqs.json")
SAMPLE_SEEDED = "faq_sample_seeded"


@cache
def sample_faqs() -> tuple[dict[str, Any], ...]:
    """Each sample FAQ: `id` (a name such as "parking"), `category`, `questions`, `answer`."""
    return tuple(json.loads(SAMPLE_FILE.read_text(encoding="utf-8")))


def add_sample_faqs(session: Session) -> dict[str, int]:
    """Create the sample FAQs; returns their names → database ids."""
    ids = {}
    for item in sample_faqs():
        data = FaqInput(list(item["questions"]), item["answer"], item["category"])
        ids[item["id"]] = create_faq(session, data).id
    return ids


def seed_sample_faqs(session: Session) -> bool:
    """Seed the samples once, into a shop with no FAQs; True when seeded now."""
    if read_setting(session, SAMPLE_SEEDED):
        return False
    write_setting(session, SAMPLE_SEEDED, {"seeded": True})
    if session.scalar(select(Faq.id).limit(1)) is not None:
        return False
    add_sample_faqs(session)
    return True
