"""What the segment builder offers: every field a condition can test, with its operators and how
its value is entered. One table for the customer's own fields (`CUSTOMER_FIELDS`) and one list of
sources for the fields that depend on the shop's data (`FIELD_SOURCES`: tags, custom fields,
survey questions).

Extension point: a feature that registers a field in `crm/segments.py` offers it here by
calling `register_field_source(source)` with a function `source(session) -> [SegmentField]`,
and `KINDS` gains an entry when its operators are new. Campaigns will add `received_campaign` and
`not_received_campaign` (kind "choice" over the campaigns), topics `topic` (over the topics).
Loyalty offers `stamps` (and `stamps:<program id>`), `stamp_visits_days`, `coupon_held` and
`coupon_redeemed`; the last two's `within_days` form is the API's only."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from crm.attributes import list_definitions
from crm.flow_steps import CHOICE_TYPES
from crm.flows import newest_version
from crm.loyalty.coupons import list_coupons
from crm.loyalty.programs import list_programs
from crm.models import FOLLOW_STATES
from crm.surveys import list_surveys
from crm.tags import list_tags

Choices = tuple[tuple[str, str], ...]  # (value, label)


@dataclass(frozen=True)
class Kind:
    """A family of fields: the operators offered, in order, and the value's shape
    (a key of `inbox/segment_builder.VALUE_SHAPES`)."""

    ops: tuple[tuple[str, object], ...]
    value: str


IS, IS_NOT = ("eq", _l("is")), ("ne", _l("is not"))
SET = (("is_set", _l("is set")), ("not_set", _l("is empty")))
ANSWERED = (("answered", _l("answered")), ("not_answered", _l("did not answer")))
COMPARE = (("eq", "="), ("ne", "≠"), ("gte", "≥"), ("lte", "≤"), ("gt", ">"), ("lt", "<"))
BETWEEN = ("between", _l("between"))
KINDS: dict[str, Kind] = {
    "tag": Kind((("has", _l("has")), ("not_has", _l("does not have"))), "choice"),
    "choice": Kind((IS, IS_NOT), "choice"),
    "text": Kind((IS, IS_NOT), "text"),
    "consent": Kind((IS,), "bool"),
    "days": Kind((("lt", _l("within the last")), ("gt", _l("more than")), BETWEEN), "days"),
    "message_count": Kind(
        (("gte", _l("at least")), ("lte", _l("at most")), ("eq", _l("exactly"))), "days_count"
    ),
    "attribute_text": Kind((IS, IS_NOT, ("contains", _l("contains")), *SET), "text"),
    "attribute_number": Kind((*COMPARE, BETWEEN, *SET), "number"),
    "attribute_date": Kind((IS, ("lt", _l("before")), ("gt", _l("after")), BETWEEN, *SET), "date"),
    "attribute_choice": Kind((IS, IS_NOT, *SET), "choice"),
    "survey_choice": Kind((("eq", _l("chose")), ("ne", _l("did not choose")), *ANSWERED), "choice"),
    "survey_number": Kind((*COMPARE, *ANSWERED), "number"),
    "survey_text": Kind((IS, *ANSWERED), "text"),
    "stamp_count": Kind(COMPARE, "number"),
    "coupon_held": Kind((("has", _l("holds")), ("not_has", _l("does not hold"))), "choice"),
    "coupon_redeemed": Kind((("has", _l("used")), ("not_has", _l("never used"))), "choice"),
}


@dataclass(frozen=True)
class SegmentField:
    """One field as the builder offers it: `name` is the tree's `field`."""

    name: str
    label: str
    section: object
    kind: str
    choices: Choices = ()
    suggestions: tuple[str, ...] = ()

    @property
    def ops(self) -> tuple[tuple[str, object], ...]:
        return KINDS[self.kind].ops

    @property
    def shape(self) -> str:
        return KINDS[self.kind].value


@dataclass
class Catalogue:
    """The fields offered now, by name and by section (for `<optgroup>`)."""

    fields: tuple[SegmentField, ...]
    by_name: dict[str, SegmentField] = field(init=False)

    def __post_init__(self):
        self.by_name = {f.name: f for f in self.fields}

    def sections(self) -> list[tuple[object, list[SegmentField]]]:
        grouped: dict[str, tuple[object, list[SegmentField]]] = {}
        for item in self.fields:
            grouped.setdefault(str(item.section), (item.section, []))[1].append(item)
        return list(grouped.values())

    def get(self, name: str) -> SegmentField | None:
        return self.by_name.get(name)


CUSTOMER = _l("Customer")
FOLLOW_CHOICES = dict(
    following=_l("Friend"), blocked=_l("Blocked"), unknown=_l("Friend before the bot")
)
LINE_LANGUAGES = ("ja", "en", "ko", "zh-TW", "zh-CN", "th", "id")
# name, label, kind, choices: the customer's own fields, in the order offered
CUSTOMER_FIELDS: tuple[tuple[str, object, str, Callable[[], Choices] | None], ...] = (
    ("follow_status", _l("Follow state"), "choice", lambda: _follow_choices()),
    ("language", _l("Language"), "text", None),
    ("marketing_consent", _l("Marketing messages"), "consent", None),
    ("followed_days", _l("Added the account"), "days", None),
    ("first_contact_days", _l("First contact"), "days", None),
    ("last_contact_days", _l("Last contact"), "days", None),
    ("last_message_days", _l("Last message from the customer"), "days", None),
    ("messages_in_days", _l("Messages from the customer"), "message_count", None),
)


def _follow_choices() -> Choices:
    return tuple((state, str(FOLLOW_CHOICES[state])) for state in FOLLOW_STATES)


def _customer_fields(session: Session) -> Iterable[SegmentField]:
    for name, label, kind, choices in CUSTOMER_FIELDS:
        suggestions = LINE_LANGUAGES if name == "language" else ()
        yield SegmentField(
            name, str(label), CUSTOMER, kind, choices() if choices else (), suggestions
        )


def _tag_field(session: Session) -> Iterable[SegmentField]:
    tags = tuple((tag.name, tag.name) for tag in list_tags(session))
    yield SegmentField("tag", str(_l("Tag")), CUSTOMER, "tag", tags)


ATTRIBUTE_KINDS = {
    "text": "attribute_text",
    "number": "attribute_number",
    "date": "attribute_date",
    "choice": "attribute_choice",
}


def _attribute_fields(session: Session) -> Iterable[SegmentField]:
    section = _l("Custom fields")
    for definition in list_definitions(session):
        choices = tuple((c, c) for c in definition.choices or ())
        kind = ATTRIBUTE_KINDS.get(definition.kind, "attribute_text")
        yield SegmentField(f"attribute:{definition.key}", definition.label, section, kind, choices)


SURVEY_KINDS = {
    "single_choice": "survey_choice",
    "multiple_choice": "survey_choice",
    "rating": "survey_number",
    "nps": "survey_number",
    "number": "survey_number",
    "text": "survey_text",
    "date": "survey_text",
}


def _survey_fields(session: Session) -> Iterable[SegmentField]:
    """Each question of each survey (its newest version) that has an answer to test."""
    for survey in list_surveys(session):
        section = _l("Survey: %(name)s", name=survey.name)
        for question in newest_version(session, survey).steps:
            kind = SURVEY_KINDS.get(question.get("type"))
            if kind is None:
                continue
            choices = ()
            if question["type"] in CHOICE_TYPES:
                choices = tuple(
                    (str(c["value"]), c["label"]) for c in question.get("choices") or ()
                )
            name = f"survey:{survey.id}:{question['key']}"
            yield SegmentField(name, _short(question.get("text") or ""), section, kind, choices)


def _short(text: str, length: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1] + "…"


def _loyalty_fields(session: Session) -> Iterable[SegmentField]:
    """Stamps per program (the default one is `stamps`), the last stamp visit, coupons."""
    section = _l("Stamps and coupons")
    programs = list_programs(session)
    if not programs or not programs[0].is_default:
        yield SegmentField("stamps", str(_l("Stamps on the card")), section, "stamp_count")
    for program in programs:
        name = "stamps" if program.is_default else f"stamps:{program.id}"
        label = str(_l("Stamps: %(name)s", name=program.name))
        yield SegmentField(name, label, section, "stamp_count")
    yield SegmentField("stamp_visits_days", str(_l("Last stamp")), section, "days")
    listed = [(str(coupon.id), coupon.title) for coupon in list_coupons(session)]
    coupons = (("any", str(_l("Any coupon"))), *listed)
    yield SegmentField("coupon_held", str(_l("Coupons held")), section, "coupon_held", coupons)
    used = str(_l("Coupon use"))
    yield SegmentField("coupon_redeemed", used, section, "coupon_redeemed", coupons)


FieldSource = Callable[[Session], Iterable[SegmentField]]
FIELD_SOURCES: list[FieldSource] = [
    _tag_field,
    _customer_fields,
    _attribute_fields,
    _survey_fields,
    _loyalty_fields,
]


def register_field_source(source: FieldSource) -> None:
    """Offer more fields in the builder (campaigns, topics…); see the module's docstring."""
    FIELD_SOURCES.append(source)


def field_catalogue(session: Session) -> Catalogue:
    """Every field the builder offers now, tags, custom fields and surveys included."""
    return Catalogue(tuple(f for source in FIELD_SOURCES for f in source(session)))
