"""Japanese first: every text the inbox shows has a Japanese translation."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

INBOX = Path(__file__).resolve().parent.parent / "inbox"
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


def _source_msgids() -> set[str]:
    found = extract_from_dir(str(INBOX), METHODS, keywords={"_": None, "gettext": None, "_l": None})
    return {
        message for _file, _line, message, _comments, _context in found if isinstance(message, str)
    }


def test_every_inbox_text_has_a_japanese_translation():
    with (INBOX / "translations/ja/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    source = _source_msgids()
    assert len(source) > 150  # the extraction really read the templates
    missing = sorted(source - translated)
    assert missing == [], f"run `make messages` and translate: {missing}"


def test_placeholders_survive_translation():
    with (INBOX / "translations/ja/LC_MESSAGES/messages.po").open("rb") as po:
        catalog = read_po(po)
    for message in catalog:
        if message.id and "%(" in message.id:
            names = {part.split(")")[0] for part in message.id.split("%(")[1:]}
            assert all(f"%({name})" in message.string for name in names), message.id
