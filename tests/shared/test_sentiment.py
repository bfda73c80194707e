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


@pytest.mark.parametrize(("comment", "kind"), [
    ("অর্ডার দিয়েছি দুই সপ্তাহ আগে, এখনো কিছুই পাইনি", "complaint"),
    ("জুতাটা এক সপ্তাহেই ছিঁড়ে গেছে, একদম বাজে মান", "complaint"),
    ("ফোন করলে কেউ ধরে না, খুব বিরক্ত লাগছে", "complaint"),
    ("খাবারটা ভালো না", "complaint"),
    ("আপনাদের সেবায় আমি খুব খুশি", "praise"),
    ("কোনো সমস্যা হয়নি, সব ঠিকঠাক ছিল, ধন্যবাদ", "praise"),
    ("দাম একটু বেশি কিন্তু মান দারুণ", "praise"),
    ("The refund never came and nobody answers my emails, awful", "complaint"),
    ("Lovely staff and a quick fix, thank you!", "praise"),
    ("অর্ডার বাতিল করেও টাকা পাইনি", "complaint"),  # the negation is the verb's, not বাতিল's
    ("খাবারটা ভালো লাগে না", "complaint"),
    ("Rubbish. Never again.", "complaint"),  # a word VADER lacks
])
def test_text_alone_decides_in_bengali_and_english(comment: str, kind: str) -> None:
    assert classify(metric=None, score=None, rating=None, comment=comment).kind == kind


def test_a_bengali_comment_with_no_sentiment_word_is_neutral() -> None:
    sentiment = classify(metric=None, score=None, rating=None, comment="পণ্যটি আজ হাতে পেয়েছি")
    assert sentiment.kind == "neutral"
    assert sentiment.comment_score is None


def test_a_score_still_leads_a_bengali_comment_but_an_angry_one_turns_a_top_score() -> None:
    assert classify(metric="nps", score=3, rating=None, comment="ধন্যবাদ", locale="bn-BD").kind == "complaint"
    assert classify(metric="nps", score=10, rating=None, comment="দশ দিলাম, কিন্তু ডেলিভারি ছিল জঘন্য",
                    locale="bn-BD").kind == "complaint"


def test_bengali_comment_scores_are_on_the_same_scale() -> None:
    praise = classify(metric=None, score=None, rating=None, comment="অসাধারণ সার্ভিস, অনেক ধন্যবাদ")
    complaint = classify(metric=None, score=None, rating=None, comment="একদম ফালতু, টাকা নষ্ট")
    assert praise.comment_score is not None and 0.5 <= praise.comment_score <= 1
    assert complaint.comment_score is not None and -1 <= complaint.comment_score <= -0.35


def test_a_comment_in_a_language_we_do_not_read_follows_the_score() -> None:
    assert classify(metric="nps", score=10, rating=None, comment="Service terrible, jamais plus",
                    locale="fr-FR").kind == "praise"
