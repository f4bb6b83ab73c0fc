"""Recognising a customer asking for a person (スタッフと話したい, 人と話したい, 担当者に
つないで, オペレーター): the bot then stops answering automatically and staff take the chat.

The text is folded first (width, case, katakana to hiragana), so スタッフ, ｽﾀｯﾌ and すたっふ are
one word. A question that merely mentions staff (スタッフの人数は？) is not a request."""

from __future__ import annotations

import re

from crm.answer_reading import normalise

# Who the customer wants, folded to hiragana.
_PERSON = r"(?:すたっふ|担当者?|担当の方|人間|ひと|人|おぺれーたー|店員|お店の方|有人)"
# What they want of them: talk, be connected, be answered, a call.
_REQUEST = (
    r"(?:さん)?(?:と|に|の方|と直接)?\s*(?:話|はな|つな|繋|代わ|かわ|替わ|対応|聞き|きき|聞く|きく"
    r"|相談|連絡|呼|よん|お願い|おねがい|返信|質問)"
)
_REQUEST_RE = re.compile(_PERSON + _REQUEST)
# On their own (with at most a polite ending) these are a request too.
_ALONE_RE = re.compile(
    r"^(?:すたっふ|担当者|おぺれーたー|有人対応|有人|人間)(?:さん)?"
    r"(?:を?お願いします|をおねがいします|お願い|おねがい|で|を)?[!?。！？]*$"
)
MAX_REQUEST_LENGTH = 40  # a long message is a question for staff, not a call for them


def wants_staff(text: str) -> bool:
    """Whether the message asks to speak with a person."""
    folded = normalise(text).replace(" ", "")
    if not folded or len(folded) > MAX_REQUEST_LENGTH:
        return False
    return bool(_ALONE_RE.match(folded) or _REQUEST_RE.search(folded))
