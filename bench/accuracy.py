"""How well Closeloop understands what customers write: the three yardsticks of understanding.

- root-cause top-1 accuracy on English complaints (``root_causes_dev.jsonl``, target >= 0.85)
- root-cause top-1 accuracy on Bengali complaints (``root_causes_dev_bn.jsonl``, target >= 0.80)
- text-only sentiment accuracy, praise or complaint with no score (``sentiment_dev.jsonl``, both
  languages, target >= 0.9)

The files are labeled samples kept beside the repository (``../shared/data``); nothing in the
project learns from them. Suggestions are made exactly as triage makes them when it opens a ticket
(the org file's keywords plus the classifier built from the seed phrases), sentiment exactly as
triage and notify judge a feedback with no score.

Part of ``make bench`` (section ``accuracy``); alone: ``python -m bench.accuracy [--data DIR]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import Figure, Report, at_least

ROOT = Path(__file__).resolve().parent.parent
DATA_CANDIDATES = (ROOT.parent / "shared" / "data", Path("/work/shared/data"))
SECTION = "accuracy"

ROOT_CAUSES_EN = ("root-cause top-1, English", "root_causes_dev.jsonl", 0.85)
ROOT_CAUSES_BN = ("root-cause top-1, Bengali", "root_causes_dev_bn.jsonl", 0.80)
SENTIMENT = ("text-only sentiment (praise/complaint)", "sentiment_dev.jsonl", 0.90)


def data_dir() -> Path:
    """The first folder holding the labeled samples (``../shared/data`` beside the repository)."""
    return next((p for p in DATA_CANDIDATES if p.is_dir()), DATA_CANDIDATES[0])


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def root_cause_suggester() -> Callable[[str], str]:
    """Triage's suggestion exactly as ticket creation calls it: keywords plus the text classifier."""
    from services.triage.rootcause import service as rootcause
    from shared.org import load_org

    org = load_org(_org_path())
    keywords = rootcause.keywords_for(org)
    classifier = rootcause.new_classifier(org)
    return lambda text: rootcause.suggest(text, keywords, classifier).code


def _org_path() -> str:
    try:
        from services.triage.config import load_settings

        return str(load_settings().common.org_config)
    except Exception:  # no settings in this environment: the demo org, as the tests use
        return str(ROOT / "config" / "org.demo.yaml")


def text_only_kind(text: str) -> str:
    """Praise, neutral or complaint of a comment with no score, as triage and notify judge it."""
    from shared.sentiment import classify

    return classify(metric=None, score=None, rating=None, comment=text).kind


def _figure(name: str, path: Path, target: float, right: int, total: int, note: str = "") -> Figure:
    value = right / total if total else None
    return Figure(name, value, "ratio", f">= {target:.2f}", at_least(value, target),
                  note=f"{right} of {total} on {path.name}" + (f"; {note}" if note else ""),
                  detail={"right": right, "total": total, "file": str(path)})


def run(report: Report, data: Path | None = None) -> list[Figure]:
    """Measure the three accuracies and add them to ``report``."""
    folder = data if data is not None and data.is_dir() else data_dir()
    figures: list[Figure] = []
    suggest: Callable[[str], str] | None = None
    for name, filename, target in (ROOT_CAUSES_EN, ROOT_CAUSES_BN):
        path = folder / filename
        if not path.exists():
            figures.append(report.add(SECTION, Figure(name, None, "ratio", f">= {target:.2f}",
                                                      note=f"skipped: {path} is absent")))
            continue
        suggest = suggest or root_cause_suggester()
        rows = _rows(path)
        wrong = Counter(f"{row['root_cause']}->{got}" for row in rows
                        if (got := suggest(row["text"])) != row["root_cause"])
        right = len(rows) - sum(wrong.values())
        figures.append(report.add(SECTION, _figure(name, path, target, right, len(rows),
                                                   note=_confusions(wrong))))
    name, filename, target = SENTIMENT
    path = folder / filename
    if not path.exists():
        figures.append(report.add(SECTION, Figure(name, None, "ratio", f">= {target:.2f}",
                                                  note=f"skipped: {path} is absent")))
        return figures
    from shared.language import detect_language

    rows = _rows(path)
    by_language: Counter[str] = Counter()
    right_by_language: Counter[str] = Counter()
    for row in rows:
        language = detect_language(row["text"]) or "?"
        by_language[language] += 1
        right_by_language[language] += text_only_kind(row["text"]) == row["kind"]
    right = sum(right_by_language.values())
    split = ", ".join(f"{lang} {right_by_language[lang]}/{n}" for lang, n in sorted(by_language.items()))
    figures.append(report.add(SECTION, _figure(name, path, target, right, len(rows), note=split)))
    return figures


def _confusions(wrong: Counter[str]) -> str:
    return "missed: " + ", ".join(f"{pair} x{n}" if n > 1 else pair for pair, n in wrong.most_common()) if wrong else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.accuracy", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="folder of the labeled samples (../shared/data)")
    args = parser.parse_args(argv)
    report = Report()
    run(report, args.data)
    sys.stdout.write(report.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
