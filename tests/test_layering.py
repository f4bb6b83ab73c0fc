"""The folder table in docs/architecture.md is the law: every import of ours is allowed there."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE_HEADER = "| folder | job | may import (ours) | never imports |"


def _table() -> dict[str, tuple[set[str] | None, set[str]]]:
    """unit -> (parts of ours it may import, or None for everything; libraries it never may)."""
    text = (ROOT / "docs/architecture.md").read_text()
    rows = text.split(TABLE_HEADER, 1)[1].split("\n\n", 1)[0].strip().splitlines()[1:]
    table = {}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        unit = re.sub(r"(/|\.py)$", "", cells[0].strip("`"))
        allowed = None if cells[2] == "everything" else set(re.findall(r"`([\w.]+)`", cells[2]))
        table[unit] = (allowed, set(re.findall(r"`([\w.]+)`", cells[3])))
    return table


def _units() -> dict[str, list[Path]]:
    """Our top-level packages and modules, with their Python files."""
    units = {}
    for path in ROOT.iterdir():
        if path.name.startswith(".") or path.name in ("docs", "instance"):
            continue
        if path.is_dir():
            units[path.name] = sorted(path.rglob("*.py"))
        elif path.suffix == ".py":
            units[path.stem] = [path]
    return units


def _imports(path: Path) -> set[str]:
    """Top-level names imported anywhere in the file, except for annotations only."""
    tree = ast.parse(path.read_text(), filename=str(path))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    names = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_part_of_ours_is_in_the_table():
    units = {name for name, files in _units().items() if files or name == "flex_templates"}
    assert units == set(_table())


def test_imports_follow_the_table():
    table, units = _table(), _units()
    ours = set(units)
    wrong = []
    for unit, files in units.items():
        allowed, never = table[unit]
        for path in files:
            for name in _imports(path):
                if name in ours and name != unit and allowed is not None and name not in allowed:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}")
                if name in never:
                    wrong.append(f"{path.relative_to(ROOT)} imports {name}, which it never may")
    assert wrong == []


def test_only_the_line_client_uses_the_sdk():
    users = {
        str(path.relative_to(ROOT))
        for unit in ("bot", "crm", "inbox", "api", "web")
        for path in _units()[unit]
        if "linebot" in _imports(path)
    }
    assert users == {"bot/line_client.py"}
