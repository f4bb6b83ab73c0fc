"""Customer text shown safely: escaped first, then line breaks and links made readable."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_URL_RE = re.compile(r"https?://[^\s<>\"'　]+")


def linkify(text: str | None) -> Markup:
    """Escape the text, then turn http(s) URLs into links that open in a new tab."""
    escaped = str(escape(text or ""))

    def link(match: re.Match) -> str:
        url = match.group(0)
        return f'<a href="{url}" target="_blank" rel="noopener noreferrer nofollow">{url}</a>'

    return Markup(_URL_RE.sub(link, escaped))  # noqa: S704 - built from escaped text only
