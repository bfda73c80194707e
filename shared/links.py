"""Signed one-click follow-up links: notify puts them in the closed-loop email, intake honours them.

A link names a ticket and the customer's answer (``fixed`` or ``not_fixed``) and carries an
HMAC signature, so nobody can answer for a ticket they were not told about. Intake turns a
followed link into ``source: follow_up`` feedback ``in_reply_to`` the ticket, with the answer
in ``metadata.answer``; triage reopens the ticket on ``not_fixed``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from itsdangerous import BadSignature, URLSafeSerializer

FIXED, NOT_FIXED = "fixed", "not_fixed"
ANSWERS = (FIXED, NOT_FIXED)
ANSWER_KEY = "answer"
_SALT = "closeloop.follow-up"


class BadLink(Exception):
    """The link was altered, or was not made with this secret."""


def follow_up_token(secret: str, *, ticket_id: str, feedback_id: str, answer: str, nonce: str = "") -> str:
    """The signed token of a follow-up link; ``nonce`` (the resolution's event id) makes each
    resolution's links distinct, so answering a second resolution is not a duplicate of the first."""
    if answer not in ANSWERS:
        raise ValueError(f"answer must be one of {ANSWERS}")
    return URLSafeSerializer(secret, salt=_SALT).dumps({"t": ticket_id, "f": feedback_id, "a": answer,
                                                        "n": nonce})


def follow_up_url(base_url: str, secret: str, *, ticket_id: str, feedback_id: str, answer: str,
                  nonce: str = "") -> str:
    """The absolute URL a customer clicks (``GET {intake}/follow-up?token=...``)."""
    token = follow_up_token(secret, ticket_id=ticket_id, feedback_id=feedback_id, answer=answer, nonce=nonce)
    return f"{base_url.rstrip('/')}/follow-up?{urlencode({'token': token})}"


def read_follow_up_token(secret: str, token: str) -> dict[str, str]:
    """``{"ticket_id", "feedback_id", "answer", "nonce"}`` from a token; raise :class:`BadLink` if forged."""
    try:
        data = URLSafeSerializer(secret, salt=_SALT).loads(token)
    except BadSignature as exc:
        raise BadLink("this link is not valid") from exc
    if not isinstance(data, dict) or data.get("a") not in ANSWERS:
        raise BadLink("this link is not valid")
    return {"ticket_id": str(data["t"]), "feedback_id": str(data["f"]), "answer": str(data["a"]),
            "nonce": str(data.get("n", ""))}
