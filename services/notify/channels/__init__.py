"""Channel types behind one registry: adding a type is adding one module to this package.

Every module here (but ``base``) defines ``CHANNEL``, a :class:`~base.ChannelType`; the registry
is built from them at import. :class:`Channels` checks the org file's channels against it when
notify starts (a channel of an unknown type, or with bad options, stops the service with a
message naming the channel) and finds the sender for each delivery. ``people`` and ``customer``
are built in: email to the delivery's own address.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from marshmallow import ValidationError

from services.notify.channels.base import ChannelType, DeliveryFailed, Outgoing, Sender, Tools
from shared.org import Channel, OrgConfigError

PERSON_CHANNEL = "people"
CUSTOMER_CHANNEL = "customer"
BUILT_IN = (PERSON_CHANNEL, CUSTOMER_CHANNEL)


def _discover() -> dict[str, ChannelType]:
    found: dict[str, ChannelType] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base" or module.name.startswith("_"):
            continue
        kind = getattr(importlib.import_module(f"{__name__}.{module.name}"), "CHANNEL", None)
        if isinstance(kind, ChannelType):
            found[kind.name] = kind
    return found


REGISTRY: dict[str, ChannelType] = _discover()


def channel_type(name: str) -> ChannelType:
    """The registered type ``name``; ``KeyError`` if notify has none."""
    return REGISTRY[name]


def delivers(channel: Channel) -> bool:
    """Whether deliveries are queued for ``channel`` (not for the built-in feed)."""
    kind = REGISTRY.get(channel.type)
    return kind is not None and kind.delivers


def concurrency(channel_type_name: str) -> int:
    """How many deliveries of a channel of this type may be in flight at once."""
    kind = REGISTRY.get(channel_type_name)
    return kind.concurrency if kind is not None else 1


def recipients(channel: Channel) -> set[str]:
    """Email addresses ``channel`` reaches."""
    kind = REGISTRY.get(channel.type)
    return kind.recipients(channel.options) if kind is not None else set()


def check_channels(channels: Iterable[Channel], *, where: str = "org file") -> dict[str, dict[str, Any]]:
    """Every channel's checked options by id; raise ``OrgConfigError`` naming each bad channel."""
    checked: dict[str, dict[str, Any]] = {}
    problems: list[str] = []
    known = ", ".join(sorted(REGISTRY))
    for channel in channels:
        kind = REGISTRY.get(channel.type)
        if kind is None:
            problems.append(f"channel {channel.id!r} has type {channel.type!r}, which notify cannot send to "
                            f"(known types: {known})")
            continue
        if channel.id in BUILT_IN:
            problems.append(f"channel id {channel.id!r} is reserved for notify's own email")
            continue
        try:
            checked[channel.id] = kind.check(channel.options)
        except ValidationError as exc:
            problems.append(f"channel {channel.id!r} ({channel.type}): {exc.messages}")
    if problems:
        raise OrgConfigError(f"{where}: " + "; ".join(problems))
    return checked


@dataclass
class Channels:
    """Finds the sender for a delivery: an org channel by id, or email for people and customers."""

    org_channels: Iterable[Channel]
    tools: Tools
    where: str = "org file"
    _configs: dict[str, tuple[ChannelType, dict[str, Any]]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        channels = list(self.org_channels)
        options = check_channels(channels, where=self.where)
        self._configs = {c.id: (REGISTRY[c.type], options[c.id]) for c in channels}

    def sender_for(self, channel: str, channel_type: str) -> Sender:
        """The sender of ``channel``; raise a permanent ``DeliveryFailed`` if it no longer exists."""
        config = self._configs.get(channel)
        if config is None:
            if channel in BUILT_IN and channel_type == "email":
                return REGISTRY["email"].sender({}, self.tools)
            raise DeliveryFailed(f"channel {channel!r} is not in the org file", permanent=True)
        kind, options = config
        return kind.sender(options, self.tools)


__all__ = ["BUILT_IN", "CUSTOMER_CHANNEL", "PERSON_CHANNEL", "REGISTRY", "ChannelType", "Channels",
           "DeliveryFailed", "Outgoing", "Sender", "Tools", "channel_type", "check_channels", "concurrency",
           "delivers", "recipients"]
