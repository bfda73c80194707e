"""Text-only sentiment on the labeled samples beside the repository (never learned from)."""

import json

import pytest

from bench.accuracy import data_dir, text_only_kind


def test_text_only_sentiment_on_the_samples_holds_its_target() -> None:
    path = data_dir() / "sentiment_dev.jsonl"
    if not path.exists():
        pytest.skip(f"needs the labeled samples ({path}), which this checkout lacks")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    right = sum(text_only_kind(row["text"]) == row["kind"] for row in rows)
    print(f"text-only sentiment on {len(rows)} samples: {right}/{len(rows)}")
    assert right / len(rows) >= 0.9
