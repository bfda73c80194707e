"""Praise, neutral or complaint: scores lead, comments refine."""

import pytest

from shared.sentiment import classify


@pytest.mark.parametrize(("metric", "score", "kind"), [
    ("nps", 10, "praise"), ("nps", 9, "praise"), ("nps", 8, "neutral"), ("nps", 7, "neutral"),
    ("nps", 6, "complaint"), ("nps", 0, "complaint"), ("csat", 4, "praise"), ("csat", 3, "neutral"),
    ("csat", 2, "complaint"), ("ces", 5, "praise"), ("ces", 4, "neutral"), ("ces", 3, "complaint"),
])
def test_score_buckets(metric: str, score: int, kind: str) -> None:
    assert classify(metric=metric, score=score, rating=None, comment=None).kind == kind


def test_stars() -> None:
    assert [classify(metric=None, score=None, rating=r, comment=None).kind for r in (1, 3, 5)] == [
        "complaint", "neutral", "praise"]


def test_angry_english_comment_overrides_a_top_score() -> None:
    assert classify(metric="nps", score=10, rating=None, comment="10, but the delivery was a disaster").kind == (
        "complaint")


def test_other_languages_follow_the_score() -> None:
    assert classify(metric="nps", score=10, rating=None, comment="সেরা সেবা, ধন্যবাদ", locale="bn").kind == "praise"
