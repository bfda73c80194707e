"""Follow-up links can be followed but not forged."""

import pytest

from shared.links import BadLink, follow_up_url, read_follow_up_token


def test_link_round_trip_and_forgery() -> None:
    url = follow_up_url("http://intake.example/", "s3cret", ticket_id="t-1", feedback_id="f-1", answer="not_fixed")
    token = url.split("token=", 1)[1]
    assert url.startswith("http://intake.example/follow-up?token=")
    assert read_follow_up_token("s3cret", token) == {"ticket_id": "t-1", "feedback_id": "f-1",
                                                     "answer": "not_fixed", "nonce": ""}
    with pytest.raises(BadLink):
        read_follow_up_token("other-secret", token)
    with pytest.raises(BadLink):
        read_follow_up_token("s3cret", token[:-2] + "xx")
