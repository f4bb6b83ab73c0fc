"""The domain's field-by-field refusals (crm/field_errors.FieldError: "at most 200 characters")
in the staff member's language. crm/ words them in English for the API; each pattern here is one
way of wording, its numbers and names carried over. A message no pattern knows is shown as is."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

PATTERNS = [
    (
        r"at most (?P<n>\d+) characters \(LINE's limit\)",
        _l("at most %(n)s characters (LINE's limit)"),
    ),
    (r"at most (?P<n>\d+) characters", _l("at most %(n)s characters")),
    (r"at most (?P<n>\d+) example questions", _l("at most %(n)s example questions")),
    (r"at most (?P<n>\d+)", _l("at most %(n)s")),
    (r"1–(?P<n>\d+) characters", _l("1 to %(n)s characters")),
    (
        r"a whole number from (?P<low>\d+) to (?P<high>\d+)",
        _l("a whole number from %(low)s to %(high)s"),
    ),
    (r"a whole number", _l("a whole number")),
    (r"an answer is required", _l("an answer is required")),
    (r"at least one example question", _l("at least one example question")),
    (r"a list of example questions", _l("a list of example questions")),
    (
        r"the Flex card's alt text: at most (?P<n>\d+) characters",
        _l("the Flex card's alt text: at most %(n)s characters"),
    ),
    (
        r"0 ≤ suggest ≤ answer ≤ 1",
        _l("the suggest score must not be above the answer score (both 0 to 1)"),
    ),
    (r"between 0 and 1", _l("between 0 and 1")),
    (r"not one of the categories", _l("not one of the categories")),
    (r"at least one category", _l("at least one category")),
    (
        r"one staff member \(fixed\) or several \(turns\)",
        _l("choose one staff member, or several to take turns"),
    ),
    (r"unknown staff member", _l("unknown staff member")),
    (r"(?P<n>\d+) areas for layout (?P<layout>\S+)", _l("%(n)s areas for layout %(layout)s")),
    (r"the default menu is for everyone: no tag", _l("the default menu is for everyone: no tag")),
    (r"the default menu cannot be turned off", _l("the default menu cannot be turned off")),
    (r"a colour as #rrggbb", _l("a colour as #rrggbb")),
    (
        r"a link starting with https://, http:// or tel:",
        _l("a link starting with https://, http:// or tel:"),
    ),
    (r"no tag (?P<tag>.+)", _l("no tag %(tag)s")),
    (r"a date as YYYY-MM-DD", _l("a date as YYYY-MM-DD")),
    (r"a date is needed for a fixed expiry", _l("a date is needed for a fixed expiry")),
    (r"a number of stamps and a coupon", _l("a number of stamps and a coupon")),
    (r"one reward per number of stamps", _l("one reward per number of stamps")),
    (r"no coupon (?P<id>\d+)", _l("no coupon %(id)s")),
    (r"(?P<n>\d+) are already issued", _l("%(n)s are already issued")),
    (
        r"give valid_until or valid_days, not both",
        _l("give a last valid day or a number of days, not both"),
    ),
    (r"must be after valid_from", _l("must be after the first valid day")),
    (r"choose the last valid day", _l("choose the last valid day")),
    (
        r"an https:// address of at most (?P<n>\d+) characters",
        _l("an https:// address of at most %(n)s characters"),
    ),
]
_COMPILED = [(re.compile(rf"^{pattern}$"), text) for pattern, text in PATTERNS]


def field_message(message: str) -> str:
    """The refusal in the current language (the English wording when no pattern knows it)."""
    for pattern, text in _COMPILED:
        found = pattern.match(message or "")
        if found:
            return str(text) % found.groupdict()
    return message
