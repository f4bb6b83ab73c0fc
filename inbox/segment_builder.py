"""The segment builder's form, both ways: a condition tree as form rows, and posted rows as a
tree for `crm/segments.py`. Rows are named `c{i}_field|op|value|value2` at the top level and
`c{i}_{j}_…` inside group `i` (`c{i}_kind=group`, `c{i}_match`, `c{i}_lines`); `items` counts
the rows and `match` says whether all or any must hold. Values are read by their shape
(`inbox/segment_values.py`); a bad one is refused with a message naming its row."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.segments import MAX_CONDITIONS, SegmentError
from inbox.segment_fields import Catalogue, SegmentField
from inbox.segment_values import SHAPES, Widget, choices_of, shape_of, words_of, write_raw

MATCHES = ("all", "any")


@dataclass
class Condition:
    """One row: a field, an operator and up to two values as typed."""

    field: str = ""
    op: str = ""
    value: str = ""
    value2: str = ""
    shown: str = ""  # the field and operator the row was drawn with, to see what changed
    shown_op: str = ""
    is_group = False


@dataclass
class Group:
    """A nested group: any (or all) of its conditions."""

    match: str = "any"
    conditions: list[Condition] = field(default_factory=list)
    is_group = True


@dataclass
class Builder:
    """The whole form: all (or any) of its items."""

    match: str = "all"
    items: list[Condition | Group] = field(default_factory=list)

    def condition_count(self) -> int:
        return sum(len(i.conditions) if i.is_group else 1 for i in self.items)


# Form → builder ----------------------------------------------------------------------------


def _count(form, name: str) -> int:
    try:
        return max(0, min(int(form.get(name, "0") or 0), MAX_CONDITIONS))
    except ValueError:
        return 0


def _match(text: str | None, default: str) -> str:
    return text if text in MATCHES else default


def _condition_from(form, prefix: str) -> Condition:
    return Condition(
        field=form.get(prefix + "field", "")[:200],
        op=form.get(prefix + "op", "")[:40],
        value=form.get(prefix + "value", "")[:1000],
        value2=form.get(prefix + "value2", "")[:1000],
        shown=form.get(prefix + "shown", "")[:200],
        shown_op=form.get(prefix + "shown_op", "")[:40],
    )


def builder_from_form(form, catalogue: Catalogue) -> Builder:
    """The posted rows, each operator and choice made valid for its field."""
    items: list[Condition | Group] = []
    for index in range(_count(form, "items")):
        prefix = f"c{index}_"
        if form.get(prefix + "kind") == "group":
            lines = range(_count(form, prefix + "lines"))
            conditions = [_condition_from(form, f"{prefix}{line}_") for line in lines]
            items.append(Group(_match(form.get(prefix + "match"), "any"), conditions))
        else:
            items.append(_condition_from(form, prefix))
    return normalised(Builder(_match(form.get("match"), "all"), items), catalogue)


def normalised(builder: Builder, catalogue: Catalogue) -> Builder:
    """Rows made consistent: a field just chosen starts with its first operator and default
    values; an operator that does not apply becomes the first; a choice not offered, the
    first one."""
    for condition in _conditions(builder):
        spec = catalogue.get(condition.field)
        if spec is not None:
            _fit(condition, spec)
        condition.shown, condition.shown_op = condition.field, condition.op
    return builder


def _fit(condition: Condition, spec: SegmentField) -> None:
    changed_field = condition.shown and condition.shown != condition.field
    if changed_field or not condition.op:
        condition.op = spec.ops[0][0]
        condition.value, condition.value2 = SHAPES[shape_of(spec, condition.op)].defaults
    elif condition.op not in dict(spec.ops):
        return  # an operator only the API offers: kept, with its value as JSON
    elif condition.shown_op and shape_of(spec, condition.shown_op) != shape_of(spec, condition.op):
        value, value2 = SHAPES[shape_of(spec, condition.op)].defaults
        condition.value, condition.value2 = value or condition.value, value2 or condition.value2
    choices = choices_of(spec, shape_of(spec, condition.op))
    if choices and condition.value not in dict(choices):
        condition.value = choices[0][0]


def _conditions(builder: Builder):
    for item in builder.items:
        yield from item.conditions if item.is_group else (item,)


# Builder → tree ----------------------------------------------------------------------------


def tree_of(builder: Builder, catalogue: Catalogue) -> dict[str, Any]:
    """The condition tree; SegmentError (translated, naming the row) for a bad value."""
    where = f"conditions.{builder.match}"
    items = []
    for index, item in enumerate(builder.items):
        at = f"{where}[{index}]"
        if item.is_group:
            inner = [
                _condition_tree(c, catalogue, f"{at}.{item.match}[{line}]")
                for line, c in enumerate(item.conditions)
            ]
            items.append({item.match: inner})
        else:
            items.append(_condition_tree(item, catalogue, at))
    return {builder.match: items}


def _condition_tree(condition: Condition, catalogue: Catalogue, where: str) -> dict[str, Any]:
    spec = catalogue.get(condition.field)
    shape = SHAPES[shape_of(spec, condition.op)]
    tree: dict[str, Any] = {"field": condition.field, "op": condition.op}
    if shape.read is not None:
        tree["value"] = shape.read(condition.value, condition.value2, where)
    return tree


# Tree → builder (a saved segment opened for editing) -------------------------------------


def builder_of(tree: Any, catalogue: Catalogue) -> Builder:
    """A saved tree as rows; a tree the builder cannot show becomes an empty builder."""
    if not isinstance(tree, dict) or len(tree) != 1:
        return Builder()
    ((match, items),) = tree.items()
    if match not in MATCHES or not isinstance(items, list):
        return Builder()
    rows: list[Condition | Group] = []
    for item in items:
        inner = _inner_group(item)
        if inner is not None:
            kind, conditions = inner
            rows.append(Group(kind, [_condition_of(c, catalogue) for c in conditions]))
        else:
            rows.append(_condition_of(item, catalogue))
    return Builder(match, rows)


def _inner_group(item: Any) -> tuple[str, list] | None:
    if isinstance(item, dict) and len(item) == 1 and next(iter(item)) in MATCHES:
        ((kind, conditions),) = item.items()
        return (kind, conditions) if isinstance(conditions, list) else (kind, [])
    return None


def _condition_of(item: Any, catalogue: Catalogue) -> Condition:
    if not isinstance(item, dict):
        return Condition(field=str(item))
    name, op = str(item.get("field", "")), str(item.get("op", ""))
    spec = catalogue.get(name)
    shape = SHAPES[shape_of(spec, op)]
    try:
        value, value2 = shape.write(item.get("value"))
    except (TypeError, ValueError, KeyError):
        value, value2 = write_raw(item.get("value"))
    return Condition(name, op, value, value2, shown=name, shown_op=op)


# Changing the rows -------------------------------------------------------------------------


def default_condition(catalogue: Catalogue) -> Condition:
    """A new row: the first field that can be used as it is (tags when the shop has some)."""
    usable = [f for f in catalogue.fields if f.shape != "choice" or f.choices]
    spec = (usable or list(catalogue.fields))[0]
    return normalised(Builder(items=[Condition(field=spec.name)]), catalogue).items[0]


def _add(builder: Builder, argument: str, catalogue: Catalogue) -> None:
    builder.items.append(default_condition(catalogue))


def _add_group(builder: Builder, argument: str, catalogue: Catalogue) -> None:
    builder.items.append(Group("any", [default_condition(catalogue)]))


def _add_to(builder: Builder, argument: str, catalogue: Catalogue) -> None:
    item = _item(builder, argument)
    if item is not None and item.is_group:
        item.conditions.append(default_condition(catalogue))


def _remove(builder: Builder, argument: str, catalogue: Catalogue) -> None:
    index, _sep, line = argument.partition(":")
    item = _item(builder, index)
    if item is None:
        return
    if item.is_group and line.isdigit() and int(line) < len(item.conditions):
        del item.conditions[int(line)]
        if item.conditions:
            return
    builder.items.remove(item)


def _item(builder: Builder, index: str) -> Condition | Group | None:
    if index.isdigit() and int(index) < len(builder.items):
        return builder.items[int(index)]
    return None


ACTIONS: dict[str, Callable[[Builder, str, Catalogue], None]] = {
    "add": _add,
    "add_group": _add_group,
    "add_to": _add_to,
    "remove": _remove,
}
GROWING = frozenset({"add", "add_group", "add_to"})


def apply_action(builder: Builder, action: str, catalogue: Catalogue) -> bool:
    """Apply a row button (`add`, `add_group`, `add_to:2`, `remove:2`, `remove:2:0`);
    False when `action` is not one of them (it is a save)."""
    verb, _sep, argument = action.partition(":")
    change = ACTIONS.get(verb)
    if change is None:
        return False
    if verb not in GROWING or builder.condition_count() < MAX_CONDITIONS:
        change(builder, argument, catalogue)
    return True


# Showing the rows --------------------------------------------------------------------------


def widgets_of(condition: Condition, catalogue: Catalogue) -> list[Widget]:
    """The inputs a row shows after its operator, with the words around them."""
    spec = catalogue.get(condition.field)
    shape = shape_of(spec, condition.op)
    words = words_of(shape, condition.op)
    return [
        Widget(
            name=name,
            kind=kind,
            value=getattr(condition, name),
            choices=choices_of(spec, shape),
            before=words[n][0],
            after=words[n][1],
            suggestions=spec.suggestions if spec is not None else (),
        )
        for n, (name, kind) in enumerate(SHAPES[shape].inputs)
    ]


def ops_of(condition: Condition, catalogue: Catalogue) -> tuple[tuple[str, object], ...]:
    """The operators a row offers (an unknown field keeps the one it has)."""
    spec = catalogue.get(condition.field)
    if spec is None or condition.op not in dict(spec.ops):
        return ((condition.op, condition.op), *(spec.ops if spec else ()))
    return spec.ops


# Problems, said so that staff find the row -------------------------------------------------

_WHERE = re.compile(r"conditions\.(?:all|any)\[(\d+)\](?:\.(?:all|any)\[(\d+)\])?(?:\.(\w+))?")
PARTS = {"field": _l("field"), "op": _l("comparison"), "value": _l("value")}


@dataclass(frozen=True)
class Problem:
    """A refused tree: where (for people), what, and which row to mark."""

    location: str
    message: str
    item: int | None = None
    line: int | None = None


def problem_of(error: SegmentError) -> Problem:
    """A SegmentError as staff read it: "Condition 2, line 1 (value): Enter a number."."""
    found = _WHERE.match(error.where)
    if found is None:
        return Problem(str(_l("Conditions")), error.message)
    item, line, part = found.groups()
    if line is None:
        location = _("Condition %(number)s", number=int(item) + 1)
    else:
        location = _(
            "Condition %(number)s, line %(line)s", number=int(item) + 1, line=int(line) + 1
        )
    if part in PARTS:
        location = _("%(where)s (%(part)s)", where=location, part=PARTS[part])
    return Problem(location, error.message, int(item), None if line is None else int(line))
