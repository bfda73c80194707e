"""The compiled load/dump of the event schemas gives exactly what marshmallow gives, on good and bad input."""

from __future__ import annotations

import copy
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields, post_load, validates_schema

from shared import events, fastschema
from shared.fastschema import compile_schema

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

GOOD: dict[str, dict[str, Any]] = {
    "envelope": {"specversion": "1.0", "id": "e-1", "source": "/intake", "type": "feedback.received",
                 "time": "2026-11-02T09:00:00Z", "subject": "f-1", "data": {"id": "f-1"}},
    events.FEEDBACK_RECEIVED: {
        "id": "f-1", "received_at": "2026-11-02T09:00:00+00:00", "source": "survey",
        "survey": {"metric": "nps", "score": 3}, "rating": None, "comment": "The parcel was late",
        "customer": {"id": None, "email": "a@example.com", "name": "Ann"}, "touchpoint": "delivery",
        "product": None, "locale": "en", "external_id": "x-9", "submitted_at": "2026-11-01T08:00:00",
        "metadata": {"answer": "fixed", "n": 1}, "in_reply_to": None},
    events.TICKET_CREATED: {
        "ticket_id": "t-1", "feedback_id": "f-1", "status": "open", "sla_state": "on_track", "priority": "P2",
        "team": "ops", "team_name": "Operations", "owner": {"id": "u-1", "name": "Uma", "email": "u@example.com"},
        "received_at": "2026-11-02T09:00:00Z", "due_at": "2026-11-03T09:00:00Z", "touchpoint": "delivery",
        "kind": "complaint", "comment": "late", "suggested_root_cause": {"code": "late", "confidence": 0.7},
        "root_cause": None, "escalated_to": None, "escalation_level": 0, "actor": "u-1", "our_fault": False,
        "message": {"id": "m-1", "author": "Uma", "body": "We are on it", "at": "2026-11-02T10:00:00Z"}},
    events.SPIKE_DETECTED: {
        "spike_id": "s-1", "root_cause": "late", "root_cause_label": "Late", "touchpoint": "delivery",
        "ticket_count": 5, "window_seconds": 3600, "first_at": "2026-11-02T05:00:00Z",
        "detected_at": "2026-11-02T09:00:00Z"},
}

POOL: list[Any] = [None, "", "x", "nps", "survey", "1.0", "7", 0, 7, -1, 10**30, 2.5, 3.0, float("inf"),
                   float("nan"), True, False, [], ["a"], {}, {"a": 1}, {"id": "u-2"},
                   "2026-11-02T09:00:00", "2026-11-02T09:00:00+02:00", "2026-11-02T09:00:00Z", "2026-11-02",
                   "not a date", "2026-13-40T99:00:00Z", b"bytes"]


def schema_for(name: str) -> Schema:
    return events.EnvelopeSchema() if name == "envelope" else events.DATA_SCHEMAS[name]


def outcome(call: Any, doc: Any) -> tuple[str, Any]:
    try:
        return "ok", call(doc)
    except ValidationError as exc:
        return "error", exc.messages


def same(a: tuple[str, Any], b: tuple[str, Any]) -> bool:
    # NaN never equals itself; compare its text
    return repr(a) == repr(b)


def mutate(doc: dict[str, Any], rng: random.Random, *, pool: list[Any] = POOL,
           extra_keys: tuple[str, ...] = ("unknown_field",), drop: float = 0.2) -> Any:
    """``doc`` with one to three of its (or a nested dict's) keys set from ``pool`` or removed."""
    doc = copy.deepcopy(doc)
    for _ in range(rng.randint(1, 3)):
        target = doc
        nested = [k for k, v in doc.items() if isinstance(v, dict)]
        if nested and rng.random() < 0.3:
            target = doc[rng.choice(nested)]
        keys = [*target, *extra_keys]
        key = rng.choice(keys)
        if rng.random() < drop:
            target.pop(key, None)
        else:
            target[key] = rng.choice(pool)
    return doc if rng.random() > 0.02 else rng.choice([None, [], "doc", 5])


@pytest.mark.parametrize("name", list(GOOD))
def test_every_event_schema_is_compiled(name: str) -> None:
    assert compile_schema(schema_for(name)).compiled


@pytest.mark.parametrize("name", list(GOOD))
def test_good_documents_never_reach_marshmallow(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    schema = schema_for(name)
    expected = schema.load(GOOD[name])
    fast = compile_schema(schema)
    monkeypatch.setattr(schema, "load", lambda *_a, **_k: pytest.fail("fell back to marshmallow"))
    assert fast.load(GOOD[name]) == expected


@pytest.mark.parametrize("name", list(GOOD))
def test_load_matches_marshmallow_on_broken_documents(name: str) -> None:
    schema, rng = schema_for(name), random.Random(f"fastschema-{name}")
    fast = compile_schema(schema)
    errors = 0
    for _ in range(3000):
        doc = mutate(GOOD[name], rng)
        expected, got = outcome(schema.load, copy.deepcopy(doc)), outcome(fast.load, doc)
        assert same(got, expected), f"{doc!r}: fast {got!r}, marshmallow {expected!r}"
        errors += expected[0] == "error"
    assert 300 < errors < 2700  # the generator made both kinds


def test_load_details() -> None:
    fast = events._FAST[events.FEEDBACK_RECEIVED]
    doc = {**GOOD[events.FEEDBACK_RECEIVED], "submitted_at": "2026-11-01T08:00:00", "rating": "4"}
    loaded = fast.load(doc)
    assert loaded["submitted_at"] == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)  # naive → UTC
    assert loaded["rating"] == 4  # a non-strict integer from a string, as marshmallow does
    assert "unknown" not in fast.load({**doc, "unknown": 1})
    with pytest.raises(ValidationError) as info:
        fast.load({**doc, "survey": {"metric": "nps", "score": "3"}})  # strict
    assert info.value.messages == {"survey": {"score": ["Not a valid integer."]}}
    env = events._ENVELOPE.load({k: v for k, v in GOOD["envelope"].items() if k != "datacontenttype"})
    assert env["datacontenttype"] == "application/json"  # load_default


def random_ticket(rng: random.Random) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ticket_id": "t-1", "feedback_id": "f-1", "status": "open", "sla_state": "on_track",
        "priority": rng.choice(["P1", "P2"]), "team": "ops", "team_name": rng.choice(["Ops", None]),
        "owner": rng.choice([{"id": "u-1", "name": "Uma", "email": None}, {"id": "u-1", "extra": 1}]),
        "received_at": NOW, "due_at": NOW.astimezone(timezone(timedelta(hours=2))) + timedelta(hours=24),
        "suggested_root_cause": rng.choice([None, {"code": "late", "confidence": rng.choice([1, 0.25])}]),
        "escalation_level": rng.choice([None, 2, 3.0]), "comment": rng.choice([None, "ça va", b"raw"]),
        "our_fault": rng.choice([None, True, False, 1]),
        "message": rng.choice([None, {"id": "m-1", "author": "Uma", "body": "On it", "at": NOW}]),
        "not_in_schema": "dropped",
    }
    for key in rng.sample(sorted(data), rng.randint(0, 4)):
        del data[key]
    return data


def test_dump_matches_marshmallow() -> None:
    rng = random.Random("fastschema-dump")
    for type_ in (events.TICKET_CREATED, events.FEEDBACK_RECEIVED, events.SPIKE_DETECTED):
        schema = events.DATA_SCHEMAS[type_]
        fast = compile_schema(schema)
        for _ in range(500):
            data = random_ticket(rng) if type_ == events.TICKET_CREATED else schema.load(mutate_good(type_, rng))
            assert fast.dump(data) == schema.dump(data)


def mutate_good(type_: str, rng: random.Random) -> dict[str, Any]:
    doc = dict(GOOD[type_])
    for key in rng.sample(sorted(doc), rng.randint(0, 3)):
        if key not in events.DATA_SCHEMAS[type_].fields or not events.DATA_SCHEMAS[type_].fields[key].required:
            doc[key] = None if events.DATA_SCHEMAS[type_].fields[key].allow_none else doc[key]
    return doc


def test_what_it_cannot_compile_goes_to_marshmallow() -> None:
    class WithHook(Schema):
        name = fields.String()

        @post_load
        def shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
            return {"name": data["name"].upper()}

    class WithList(Schema):
        tags = fields.List(fields.String())

    class WithUndeclaredCheck(Schema):  # marshmallow's own decorator, not checks_document
        name = fields.String()

        @validates_schema
        def no_bob(self, data: dict[str, Any], **_: Any) -> None:
            if data.get("name") == "bob":
                raise ValidationError("not bob", "name")

    hooked, listed = compile_schema(WithHook()), compile_schema(WithList())
    undeclared = compile_schema(WithUndeclaredCheck())
    assert not hooked.compiled and not listed.compiled and not undeclared.compiled
    assert hooked.load({"name": "ann"}) == {"name": "ANN"}
    with pytest.raises(ValidationError):
        undeclared.load({"name": "bob"})
    assert listed.load({"tags": ["a"]}) == {"tags": ["a"]} and listed.dump({"tags": ["a"]}) == {"tags": ["a"]}


# what a JSON body can hold (no bytes)
FEEDBACK_POOL: list[Any] = [*(v for v in POOL if not isinstance(v, bytes)), "follow_up", "review", "en-GB",
                            "en_GB_x", "no tag!", "ok@example.org",
                            "not-an-email", "a\x00b", {"k": "v\x00"}, {"x" * 101: 1}, {"answer": "fixed"},
                            {"big": "x" * 9000}, {"metric": "csat", "score": 6}, {"metric": "ces", "score": 7},
                            {"email": "bad"}, {"id": "c-1", "unknown": 1}, "  ", "t" * 201, "delivery-2", "Bad Case"]


def mutate_feedback(rng: random.Random) -> Any:
    from services.intake.schemas import FEEDBACK_EXAMPLE

    return mutate(FEEDBACK_EXAMPLE, rng, pool=FEEDBACK_POOL, drop=0.25,
                  extra_keys=("unknown_field", "rating", "in_reply_to", "submitted_at", "survey"))


def test_a_request_schema_with_validators_and_unknown_fields_refused_loads_as_marshmallow_does() -> None:
    from services.intake.schemas import FEEDBACK_EXAMPLE, FeedbackIn

    schema, rng = FeedbackIn(), random.Random("fastschema-feedback")
    assert schema._compiled()._load(copy.deepcopy(FEEDBACK_EXAMPLE)) == Schema.load(schema, FEEDBACK_EXAMPLE)
    kinds = {"ok": 0, "error": 0}
    for _ in range(3000):
        doc = mutate_feedback(rng)
        expected, got = outcome(lambda d: Schema.load(schema, d), copy.deepcopy(doc)), outcome(schema.load, doc)
        assert same(got, expected), f"{doc!r}: fast {got!r}, marshmallow {expected!r}"
        kinds[expected[0]] += 1
    assert kinds["ok"] > 300 and kinds["error"] > 300  # the generator made both kinds


def test_validators_and_unknown_fields_send_the_document_to_marshmallow() -> None:
    from services.intake.schemas import FeedbackIn

    fast = FeedbackIn()._compiled()._load
    good = {"survey": {"metric": "nps", "score": 3}}
    assert fast(good) == {"source": "form", "survey": {"metric": "nps", "score": 3}}
    assert fast({**good, "colour": "red"}) is fastschema._FAIL  # unknown field (RAISE)
    assert fast({"survey": {"metric": "nps", "score": 11}}) is fastschema._FAIL  # the nested @validates_schema
    assert fast({"comment": "a\x00b"}) is fastschema._FAIL  # the schema's own @validates_schema
    assert fast({**good, "metadata": {"big": "x" * 9000}}) is fastschema._FAIL  # @validates("metadata")
    assert fast({**good, "metadata": {"k" * 101: 1}}) is fastschema._FAIL  # a key's validator
    assert fast({**good, "customer": {"email": "nope"}}) is fastschema._FAIL  # the Email field's check
