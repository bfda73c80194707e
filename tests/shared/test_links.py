"""Follow-up links and reply addresses can be followed but not forged, and links grow old."""

import uuid
from unittest import mock

import pytest

from shared.links import BadLink, ExpiredLink, follow_up_url, read_follow_up_token, read_reply_address, reply_address


def test_link_round_trip_and_forgery() -> None:
    url = follow_up_url("http://intake.example/", "s3cret", ticket_id="t-1", feedback_id="f-1", answer="not_fixed",
                        nonce="res-1")
    token = url.split("token=", 1)[1]
    assert url.startswith("http://intake.example/follow-up?token=")
    assert read_follow_up_token("s3cret", token) == {"ticket_id": "t-1", "feedback_id": "f-1",
                                                     "answer": "not_fixed", "nonce": "res-1"}
    with pytest.raises(BadLink):
        read_follow_up_token("other-secret", token)
    with pytest.raises(BadLink):
        read_follow_up_token("s3cret", token[:-2] + "xx")


def test_link_expires_after_max_age() -> None:
    with mock.patch("itsdangerous.timed.time.time", return_value=1_000_000.0):
        url = follow_up_url("http://i", "s3cret", ticket_id="t-1", feedback_id="f-1", answer="fixed")
    token = url.split("token=", 1)[1]
    with mock.patch("itsdangerous.timed.time.time", return_value=1_000_000.0 + 3600):
        assert read_follow_up_token("s3cret", token, max_age=7200)["answer"] == "fixed"
        with pytest.raises(ExpiredLink):
            read_follow_up_token("s3cret", token, max_age=60)
    assert issubclass(ExpiredLink, BadLink)


def test_reply_address_round_trip() -> None:
    ticket_id = str(uuid.uuid4())
    address = reply_address("s3cret", ticket_id=ticket_id, domain="mail.example")
    local, domain = address.split("@")
    assert domain == "mail.example"
    assert local.startswith("reply+") and local == local.lower() and len(local) <= 64
    assert read_reply_address("s3cret", address) == ticket_id
    assert read_reply_address("s3cret", f"<{address.upper()}>") == ticket_id


@pytest.mark.parametrize("address", [
    "someone@mail.example",
    "reply+@mail.example",
    "reply+abc@mail.example",
    "reply+" + "0" * 48 + "@mail.example",
    "no-at-sign",
])
def test_forged_or_unknown_reply_addresses_are_refused(address: str) -> None:
    with pytest.raises(BadLink):
        read_reply_address("s3cret", address)


def test_reply_address_of_another_secret_or_ticket_is_refused() -> None:
    ticket_id = str(uuid.uuid4())
    address = reply_address("s3cret", ticket_id=ticket_id, domain="d")
    with pytest.raises(BadLink):
        read_reply_address("other", address)
    other = uuid.UUID(ticket_id).hex[:-1] + ("0" if ticket_id[-1] != "0" else "1")
    forged = "reply+" + other + address.split("+", 1)[1][32:]
    with pytest.raises(BadLink):
        read_reply_address("s3cret", forged)
