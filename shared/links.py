"""Signed links and reply addresses: notify puts them in customer emails, intake honours them.

A follow-up link names a ticket, the resolution it answers (``nonce`` = the ``ticket.resolved``
event id) and the customer's answer (``fixed`` or ``not_fixed``). It carries an HMAC signature
and the time it was made, so nobody can answer for a ticket they were not told about and an old
link can be refused (:class:`ExpiredLink`). Intake shows a page for a followed link and records
the answer only when the customer confirms it there.

A reply address (``reply+<token>@<domain>``) names a ticket in the local part with a truncated
HMAC, so intake's mail role can refuse mail to an address it did not hand out.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from urllib.parse import urlencode

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

FIXED, NOT_FIXED = "fixed", "not_fixed"
ANSWERS = (FIXED, NOT_FIXED)
ANSWER_KEY = "answer"
DEFAULT_MAX_AGE = 30 * 24 * 3600  # seconds: CLOSELOOP_LINK_MAX_AGE's default
_SALT = "closeloop.follow-up"
_REPLY_SALT = b"closeloop.reply-address"
_REPLY_PREFIX = "reply+"
_MAC_CHARS = 16
_REPLY_TOKEN = re.compile(rf"[0-9a-f]{{32}}[0-9a-f]{{{_MAC_CHARS}}}")


class BadLink(Exception):
    """The link or address was altered, or was not made with this secret."""


class ExpiredLink(BadLink):
    """The link was made with this secret, but longer ago than it may be used."""


def follow_up_token(secret: str, *, ticket_id: str, feedback_id: str, answer: str, nonce: str = "") -> str:
    """The signed, timestamped token of a follow-up link; ``nonce`` (the resolution's event id)
    ties the link to one resolution."""
    if answer not in ANSWERS:
        raise ValueError(f"answer must be one of {ANSWERS}")
    return URLSafeTimedSerializer(secret, salt=_SALT).dumps({"t": ticket_id, "f": feedback_id, "a": answer,
                                                             "n": nonce})


def follow_up_url(base_url: str, secret: str, *, ticket_id: str, feedback_id: str, answer: str,
                  nonce: str = "") -> str:
    """The absolute URL a customer clicks (``GET {intake}/follow-up?token=...``)."""
    token = follow_up_token(secret, ticket_id=ticket_id, feedback_id=feedback_id, answer=answer, nonce=nonce)
    return f"{base_url.rstrip('/')}/follow-up?{urlencode({'token': token})}"


def read_follow_up_token(secret: str, token: str, *, max_age: int | None = None) -> dict[str, str]:
    """``{"ticket_id", "feedback_id", "answer", "nonce"}`` from a token.

    Raise :class:`ExpiredLink` if it is older than ``max_age`` seconds, :class:`BadLink` if forged.
    """
    serializer = URLSafeTimedSerializer(secret, salt=_SALT)
    try:
        data = serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise ExpiredLink("this link has expired") from exc
    except BadSignature as exc:
        raise BadLink("this link is not valid") from exc
    if not isinstance(data, dict) or data.get("a") not in ANSWERS or "t" not in data or "f" not in data:
        raise BadLink("this link is not valid")
    return {"ticket_id": str(data["t"]), "feedback_id": str(data["f"]), "answer": str(data["a"]),
            "nonce": str(data.get("n", ""))}


def _reply_mac(secret: str, ticket_hex: str) -> str:
    key = hashlib.sha256(_REPLY_SALT + secret.encode()).digest()
    return hmac.new(key, ticket_hex.encode(), hashlib.sha256).hexdigest()[:_MAC_CHARS]


def reply_token(secret: str, *, ticket_id: str) -> str:
    """The lowercase local-part token for a ticket (its uuid in hex and a 16-hex-digit HMAC)."""
    ticket_hex = uuid.UUID(ticket_id).hex
    return ticket_hex + _reply_mac(secret, ticket_hex)


def reply_address(secret: str, *, ticket_id: str, domain: str) -> str:
    """``reply+<token>@<domain>``: where a customer's answer by email goes (local part 54 chars)."""
    return f"{_REPLY_PREFIX}{reply_token(secret, ticket_id=ticket_id)}@{domain}"


def read_reply_token(secret: str, token: str) -> str:
    """The ticket id a reply token names; raise :class:`BadLink` if forged or of an unknown shape."""
    token = token.strip().lower()
    if not _REPLY_TOKEN.fullmatch(token):
        raise BadLink("unknown reply address")
    ticket_hex, mac = token[:32], token[32:]
    if not hmac.compare_digest(mac, _reply_mac(secret, ticket_hex)):
        raise BadLink("unknown reply address")
    return str(uuid.UUID(ticket_hex))


def read_reply_address(secret: str, address: str) -> str:
    """The ticket id of ``reply+<token>@<any domain>`` (case-insensitive, optional ``<>``);
    raise :class:`BadLink` if the address is forged or not a reply address."""
    address = address.strip().strip("<>").strip()
    local, at, _domain = address.rpartition("@")
    if not at or not local.lower().startswith(_REPLY_PREFIX):
        raise BadLink("not a reply address")
    return read_reply_token(secret, local[len(_REPLY_PREFIX):])
