"""The event contract: CloudEvents envelopes that producers and consumers agree on."""

from __future__ import annotations

import inspect
import json
from datetime import UTC, datetime

import pytest

from shared import events
from shared.events import InvalidEvent, decode_event, encode_event, make_event

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_round_trip_keeps_data_and_envelope() -> None:
    event = make_event(type="feedback.received", source="/intake", subject="f-1", now=NOW,
                       data={"id": "f-1", "received_at": NOW, "source": "form", "comment": "ভালো 👍"})
    assert event["specversion"] == "1.0" and event["time"] == "2026-11-02T09:00:00Z"
    decoded = decode_event(encode_event(event))
    assert decoded.id == event["id"] and decoded.data["comment"] == "ভালো 👍"
    assert decoded.data["received_at"] == NOW


def test_consumers_ignore_unknown_fields() -> None:
    event = make_event(type="feedback.received", source="/intake", subject="f-1", now=NOW,
                       data={"id": "f-1", "received_at": NOW, "source": "form"})
    event["data"]["added_later"] = True
    event["extension"] = "x"
    assert decode_event(encode_event(event)).data["id"] == "f-1"


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"not json", b"[]", json.dumps({"specversion": "1.0"}).encode(),
                                 None])
def test_garbage_is_an_invalid_event_with_a_reason(raw: bytes | None) -> None:
    with pytest.raises(InvalidEvent) as info:
        decode_event(raw)
    assert info.value.reason


BAD_FEEDBACK = {"id": "f", "received_at": NOW, "source": "survey", "survey": {"metric": "weight", "score": 3}}


def test_producer_refuses_data_that_breaks_the_schema_when_checking() -> None:
    """The suite checks every produced event (tests.support.check_produced_events): our producers' bugs fail tests."""
    with pytest.raises(ValueError):
        events.make_event(type="feedback.received", source="/intake", subject="f", now=NOW, data=BAD_FEEDBACK)


def test_without_the_producer_check_a_bad_event_is_still_stopped_by_its_consumers(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "make_event", inspect.unwrap(events.make_event))
    event = events.make_event(type="feedback.received", source="/intake", subject="f", now=NOW, data=BAD_FEEDBACK)
    with pytest.raises(InvalidEvent) as info:
        decode_event(encode_event(event))
    assert "metric" in info.value.reason


def test_a_source_this_version_does_not_know_is_taken_not_dead_lettered() -> None:
    """A newer intake may add a source; older consumers must not dead-letter all its feedback."""
    event = make_event(type="feedback.received", source="/intake", subject="f", now=NOW,
                       data={"id": "f", "received_at": NOW, "source": "pigeon"})
    assert decode_event(encode_event(event)).data["source"] == "pigeon"


def test_an_unknown_event_type_from_a_newer_producer_is_not_poison() -> None:
    event = make_event(type="feedback.received", source="/intake", subject="f-1", now=NOW,
                       data={"id": "f-1", "received_at": NOW, "source": "form"})
    event["type"] = "feedback.translated"
    assert decode_event(encode_event(event)).type == "feedback.translated"
