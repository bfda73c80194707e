"""Root-cause suggestions in Bengali as well as English: words cut right, seed phrases and keywords
in both languages, org-file keywords and labels per language, learning from confirmations in any
language. Every sentence here was written for these tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from services.triage.rootcause import service as rootcause
from services.triage.rootcause.classifier import NaiveBayes, tokens
from shared.org import load_org
from tests.support import ORG

Suggester = tuple[dict[str, tuple[str, ...]], NaiveBayes]


@pytest.fixture(scope="module")
def suggester() -> Suggester:
    org = load_org(ORG)
    return rootcause.keywords_for(org), rootcause.new_classifier(org)


def test_bengali_words_are_kept_whole_and_english_is_stemmed() -> None:
    found = tokens("পণ্যটার স্ক্রিন ফেটে গেছে। The screens cracked")
    assert "পণ্য" in found and "স্ক্রিন" in found and "ফেটে" in found  # no word cut at a vowel sign
    assert not any(len(t) == 1 for t in found)
    assert "screen" in found and "crack" in found  # English stemming for English only
    assert "গেছে" not in found  # a Bengali auxiliary is a function word


def test_a_bengali_complaint_gets_a_real_cause_not_other(suggester: Suggester) -> None:
    keywords, model = suggester
    suggestion = rootcause.suggest("টাকা ফেরত চাই, পণ্যটা একদম কাজ করে না", keywords, model)
    assert suggestion.code != "other"
    assert suggestion.confidence > 0.3


@pytest.mark.parametrize(("text", "code"), [
    ("নতুন কেনা ইস্ত্রিটা দুই দিনেই পুড়ে গেল, আর গরম হয় না", "product_defect"),
    ("কুরিয়ার তিনবার তারিখ দিয়েও পার্সেল নিয়ে আসেনি", "delivery_logistics"),
    ("বিকাশে পেমেন্ট দুবার কেটে নিয়েছে, একটা ফেরত দিন", "billing_payment"),
    ("শোরুমের লোকটা আমার সাথে খুব অভদ্র আচরণ করল", "staff_conduct"),
    ("পাঁচ দিন আগে মেইল করেছি, এখনো কোনো উত্তর আসেনি", "slow_response"),
    ("ম্যানুয়ালে কিছুই পরিষ্কার লেখা নেই, সেটআপ করতে পারছি না", "onboarding_docs"),
    ("অ্যাপে লগইন করতে গেলেই এরর দেখাচ্ছে", "website_app"),
    ("এই মানের জিনিসের জন্য দাম অনেক বেশি নিচ্ছেন", "pricing_value"),
    ("ওয়ারেন্টি থাকা সত্ত্বেও নিয়মের দোহাই দিয়ে সারাই করে দিল না", "policy"),
])
def test_bengali_complaints_of_each_cause(suggester: Suggester, text: str, code: str) -> None:
    keywords, model = suggester
    assert rootcause.suggest(text, keywords, model).code == code


def test_english_keywords_end_with_the_word_and_bengali_ones_take_suffixes() -> None:
    keywords = {"website_app": ("app",), "billing_payment": ("charge", "বিলে"), "delivery_logistics": ("ডেলিভারি",)}
    assert rootcause.keyword_scores("I applied the code", keywords) == {}
    assert rootcause.keyword_scores("the app crashes and charging failed", keywords) == {
        "website_app": 1, "billing_payment": 1}
    assert rootcause.keyword_scores("বিলম্বে ডেলিভারিতে", keywords) == {"delivery_logistics": 1}


def _org_with(tmp_path: Path, causes: str) -> Path:
    text = ORG.read_text(encoding="utf-8").replace("root_causes:\n", "root_causes:\n" + causes, 1)
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_org_file_keywords_and_labels_per_language(tmp_path: Path) -> None:
    org = load_org(_org_with(tmp_path, """  - code: spoiled_food
    label: {en: Spoiled food, bn: নষ্ট খাবার}
    plain: {en: the food was not fresh, bn: খাবার টাটকা ছিল না}
    keywords: {en: [stale, rotten], bn: [বাসি, পচা]}
"""))
    cause = org.root_causes["spoiled_food"]
    assert (cause.label, cause.label_in("bn-BD"), cause.plain_in("bn")) == ("Spoiled food", "নষ্ট খাবার",
                                                                            "খাবার টাটকা ছিল না")
    assert cause.label_in("fr") == "Spoiled food"
    keywords, model = rootcause.keywords_for(org), rootcause.new_classifier(org)
    assert rootcause.suggest("বিরিয়ানিটা বাসি ছিল, মুখে দেওয়া যায়নি", keywords, model).code == "spoiled_food"
    assert rootcause.suggest("The bread was stale and mouldy", keywords, model).code == "spoiled_food"


def test_a_bengali_org_keyword_in_a_plain_list_works_too(tmp_path: Path) -> None:
    org = load_org(_org_with(tmp_path, "  - code: spoiled_food\n    keywords: [বাসি, stale]\n"))
    keywords = rootcause.keywords_for(org)
    assert rootcause.keyword_scores("মাছটা বাসি ছিল", keywords) == {"spoiled_food": 1}


def test_confirmed_causes_teach_the_classifier_in_bengali(tmp_path: Path) -> None:
    org = load_org(_org_with(tmp_path, "  - code: spoiled_food\n    label: Spoiled food\n"))
    keywords, model = rootcause.keywords_for(org), rootcause.new_classifier(org)
    new = "মিষ্টিগুলো টক হয়ে গিয়েছিল, ছত্রাক ধরেছিল"
    assert rootcause.suggest(new, keywords, model).code != "spoiled_food"
    for confirmed in ("দইটা টক হয়ে গেছে", "পাউরুটিতে ছত্রাক", "মিষ্টি টক লাগছিল, ছত্রাকও ছিল"):
        model.learn(confirmed, "spoiled_food")  # what triage does when an employee confirms the cause
    assert rootcause.suggest(new, keywords, model).code == "spoiled_food"


def test_bad_language_keys_in_the_org_file_are_refused(tmp_path: Path) -> None:
    from shared.org import OrgConfigError

    with pytest.raises(OrgConfigError, match="not a language code"):
        load_org(_org_with(tmp_path, "  - code: spoiled_food\n    label: {Bengali!: x}\n"))


def test_a_bengali_chat_complaint_with_no_score_opens_a_ticket_with_its_cause(triage: Any) -> None:
    from tests.services.triage.test_handlers import feedback_event, handle

    ticket = handle(triage, feedback_event(source="chat", locale="bn-BD",
                                           comment="তিন দিন হয়ে গেল, কুরিয়ার এখনো পার্সেলটা দেয়নি"))
    assert ticket is not None
    assert ticket.suggested_root_cause == "delivery_logistics"
    praise = feedback_event(source="chat", locale="bn-BD", comment="খুব দ্রুত সমাধান করে দিলেন, অনেক ধন্যবাদ")
    assert handle(triage, praise) is None


def test_top1_accuracy_on_the_bengali_samples_it_never_learned_from() -> None:
    from bench.accuracy import data_dir

    path = data_dir() / "root_causes_dev_bn.jsonl"
    if not path.exists():
        pytest.skip(f"needs the labeled Bengali samples ({path}), which this checkout lacks")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    org = load_org(ORG)
    keywords = rootcause.keywords_for(org)
    combined = rootcause.accuracy([(r["text"], r["root_cause"]) for r in rows], keywords,
                                  rootcause.new_classifier(org))
    print(f"root-cause top-1 accuracy on {len(rows)} Bengali samples: {combined:.2f}")
    assert combined >= 0.8
