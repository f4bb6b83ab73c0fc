"""The counter: the rotating QR a customer scans to earn a stamp, and member numbers the clerk
scans or types.

A counter token is signed with the deployment's secret and lives for TOKEN_LIFETIME; the counter
screen shows a fresh one every few seconds and after each use. Its nonce becomes the stamp's
idempotency key, so a token earns one stamp once, for one customer, whoever scans it again.
The token travels as a LINE URL (`https://line.me/R/oaMessage/<basic id>/?<text>`): LINE's camera
opens the chat with the text ready, the customer sends it, and the bot reads it here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crm.loyalty.models import MemberCard, StampEntry
from crm.models import Customer

TOKEN_LIFETIME = timedelta(seconds=90)
TOKEN_PREFIX = "STAMP-"  # noqa: S105 - not a secret
TOKEN_TEXT = "スタンプをください {token}"  # noqa: S105 - not a secret
TOKEN_PATTERN = re.compile(r"STAMP-([A-Za-z0-9_-]{30,60})")
MEMBER_PREFIX = "M-"
MEMBER_PATTERN = re.compile(r"^\s*M-?(\d{8})\s*$", re.IGNORECASE)

# Why a token earned nothing.
TOKEN_EXPIRED = "token_expired"  # noqa: S105 - not a secret
TOKEN_INVALID = "token_invalid"  # noqa: S105 - not a secret
TOKEN_USED = "token_used"  # noqa: S105 - not a secret


class TokenRefused(ValueError):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CounterToken:
    program_id: int
    count: int
    expires_at: datetime
    nonce: str

    @property
    def idempotency_key(self) -> str:
        return f"qr:{self.nonce}"


def make_token(secret: str, program_id: int, count: int, now: datetime) -> tuple[str, CounterToken]:
    """A new signed token and what it says."""
    nonce = secrets.token_bytes(9)
    expires = int((now + TOKEN_LIFETIME).timestamp())
    body = struct.pack(">IBI", program_id, count, expires) + nonce
    signed = body + _signature(secret, body)
    text = TOKEN_PREFIX + base64.urlsafe_b64encode(signed).decode().rstrip("=")
    return text, CounterToken(program_id, count, datetime.fromtimestamp(expires, UTC), nonce.hex())


def _signature(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), b"counter-token\0" + body, hashlib.sha256).digest()[:12]


def find_token(text: str) -> str | None:
    """The token in a message the customer sent, if there is one."""
    match = TOKEN_PATTERN.search(text or "")
    return match.group(0) if match else None


def read_token(secret: str, token: str, now: datetime) -> CounterToken:
    """Check the signature and the lifetime; raises TokenRefused."""
    match = TOKEN_PATTERN.fullmatch(token or "")
    if match is None:
        raise TokenRefused(TOKEN_INVALID)
    raw = match.group(1)
    try:
        signed = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
    except ValueError:
        raise TokenRefused(TOKEN_INVALID) from None
    body, signature = signed[:-12], signed[-12:]
    if len(body) != 18 or not hmac.compare_digest(signature, _signature(secret, body)):
        raise TokenRefused(TOKEN_INVALID)
    program_id, count, expires = struct.unpack(">IBI", body[:9])
    expires_at = datetime.fromtimestamp(expires, UTC)
    if now >= expires_at:
        raise TokenRefused(TOKEN_EXPIRED)
    return CounterToken(program_id, count, expires_at, body[9:].hex())


def token_user(session: Session, token: CounterToken) -> int | None:
    """The customer who earned the token's stamp, if someone has."""
    key = token.idempotency_key
    return session.scalar(select(StampEntry.customer_id).where(StampEntry.idempotency_key == key))


def token_used(session: Session, token: CounterToken) -> bool:
    return token_user(session, token) is not None


def token_url(basic_id: str, token: str) -> str:
    """What the counter QR holds: LINE's URL that opens the chat with the token typed in."""
    text = TOKEN_TEXT.format(token=token)
    return f"https://line.me/R/oaMessage/{quote(basic_id, safe='@')}/?{quote(text, safe='')}"


# ---------------------------------------------------------------- member numbers


def member_number(session: Session, customer_id: int) -> str:
    """The customer's 8-digit member number, made the first time it is needed."""
    found = session.get(MemberCard, customer_id)
    if found is not None:
        return found.number
    for _ in range(10):
        number = f"{secrets.randbelow(10**8):08d}"
        try:
            with session.begin_nested():
                session.add(MemberCard(customer_id=customer_id, number=number))
                session.flush()
            return number
        except IntegrityError:
            found = session.get(MemberCard, customer_id)
            if found is not None:
                return found.number
    raise RuntimeError("could not find a free member number")


def member_qr_text(number: str) -> str:
    return f"{MEMBER_PREFIX}{number}"


def find_member(session: Session, scanned_or_typed: str) -> Customer | None:
    """The customer whose member QR was scanned (`M-12345678`) or number typed (12345678)."""
    text = (scanned_or_typed or "").strip()
    match = MEMBER_PATTERN.match(text) or re.fullmatch(r"(\d{8})", text)
    if match is None:
        return None
    customer_id = session.scalar(
        select(MemberCard.customer_id).where(MemberCard.number == match.group(1))
    )
    return session.get(Customer, customer_id) if customer_id else None
