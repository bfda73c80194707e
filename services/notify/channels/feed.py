"""The org feed: built in, the consumer writes it directly, so nothing is queued for it."""

from __future__ import annotations

from services.notify.channels.base import ChannelType


class Feed(ChannelType):
    name = "feed"
    delivers = False


CHANNEL = Feed()
