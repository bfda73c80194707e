"""What every channel type shares: the interface, the failure it raises, and an HTTP post helper.

A channel type is one module of this package with a module-level ``CHANNEL`` (a
:class:`ChannelType`): it checks the options the org file gives a channel of its type and builds
the :class:`Sender` that delivers to it. ``send(outgoing)`` either returns or raises
:class:`DeliveryFailed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from marshmallow import RAISE, Schema, ValidationError

from services.notify.mail import Mailer
from services.notify.messages import Message


class DeliveryFailed(Exception):
    """Sending failed; ``permanent`` when trying again cannot help (the receiver refused the message)."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    """One delivery as a channel sees it."""

    delivery_id: int
    event_id: str
    event_type: str
    address: str
    message: Message


class Sender(Protocol):
    def send(self, outgoing: Outgoing) -> None: ...


@dataclass(frozen=True)
class Tools:
    """What senders may use: the one SMTP mailer (its connections are shared) and the HTTP timeout."""

    mailer: Mailer
    timeout: float


class Options(Schema):
    """A channel type's options in the org file (every key of a channel but ``id``, ``type``, ``subscribe``)."""

    class Meta:
        unknown = RAISE


class ChannelType:
    """One kind of channel. Subclasses set ``name`` and ``options`` and build senders."""

    name: str = ""
    options: type[Schema] = Options
    delivers: bool = True
    """False for a channel notify keeps itself (the org feed): nothing is queued for it."""
    concurrency: int = 1
    """How many of one channel's deliveries may be in flight at once (1 keeps a chat in order)."""

    def check(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The channel's options, validated; raise ``ValidationError`` naming the bad ones."""
        loaded: dict[str, Any] = self.options().load(dict(options))
        return loaded

    def sender(self, options: Mapping[str, Any], tools: Tools) -> Sender:
        """The sender of a channel of this type with these (checked) options."""
        raise DeliveryFailed(f"{self.name} channels are not sent to", permanent=True)

    def recipients(self, options: Mapping[str, Any]) -> set[str]:
        """Email addresses a channel of this type reaches (so a digest does not reach them twice)."""
        return set()


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float,
              session: requests.Session | None = None) -> None:
    """POST ``body`` as JSON; a refusal (4xx other than 408/409/425/429) fails for good, the rest is retried."""
    try:
        response = (session or requests).post(url, data=body, headers={"Content-Type": "application/json", **headers},
                                              timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{exc.__class__.__name__}: {exc}"[:500]) from exc
    if response.status_code >= 300:
        permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 409, 425, 429)
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:200]}", permanent=permanent)


__all__ = ["ChannelType", "DeliveryFailed", "Options", "Outgoing", "Sender", "Tools", "ValidationError", "post_json"]
