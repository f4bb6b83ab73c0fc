"""Saved segments as staff keep them: list, save (only a tree that compiles), copy, delete.
The trees themselves are compiled by `crm/segments.py`."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import Segment
from crm.segments import SegmentError, count_matching

NAME_LENGTH = 100


def list_segments(session: Session) -> list[Segment]:
    """Every saved segment, by name."""
    return list(session.scalars(select(Segment).order_by(Segment.name, Segment.id)))


def get_segment(session: Session, segment_id: int) -> Segment | None:
    return session.get(Segment, segment_id)


def check_segment_name(name: str) -> str:
    """The name without surrounding spaces; SegmentError when empty or too long."""
    name = name.strip()
    if not name or len(name) > NAME_LENGTH:
        raise SegmentError("name", f"a name of 1 to {NAME_LENGTH} characters")
    return name


def save_segment(
    session: Session, segment: Segment | None, name: str, tree: Any, now: datetime
) -> Segment:
    """Create (segment None) or change a segment; the tree must compile (SegmentError)."""
    name = check_segment_name(name)
    count_matching(session, tree, now)  # raises for any invalid part
    if segment is None:
        segment = Segment(name=name, conditions=tree)
        session.add(segment)
    else:
        segment.name, segment.conditions = name, tree
    session.flush()
    return segment


def copy_segment(session: Session, segment: Segment, name: str) -> Segment:
    """A new segment with the same conditions under another name (cut to fit)."""
    duplicate = Segment(
        name=name.strip()[:NAME_LENGTH], conditions=copy.deepcopy(segment.conditions)
    )
    session.add(duplicate)
    session.flush()
    return duplicate


def delete_segment(session: Session, segment: Segment) -> None:
    session.delete(segment)
