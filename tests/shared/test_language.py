"""The language a customer wrote in, and words cut correctly in any script."""

import unicodedata

import pytest

from shared.language import bengali_stem, detect_language, is_bengali, language_of, split_negation, words


@pytest.mark.parametrize(("text", "code"), [
    ("আমার অর্ডার এখনো আসেনি, খুব চিন্তায় আছি", "bn"),
    ("The blender stopped working after a week", "en"),
    ("ধন্যবাদ", "bn"),
    ("thanks!", "en"),
])
def test_detects_bengali_and_english(text: str, code: str) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize("text", ["", "   ", "12345 !!", None])
def test_no_letters_no_language(text: str | None) -> None:
    assert detect_language(text) is None


def test_the_text_decides_and_the_locale_helps_only_where_the_detector_is_blind() -> None:
    assert language_of("My parcel is late", "bn-BD") == "en"  # a Bengali-locale customer writing English
    assert language_of("পার্সেল দেরিতে এসেছে", "en-GB") == "bn"
    assert language_of("Le colis est arrivé en retard", "fr-FR") == "fr"  # Latin script, a language we don't read


def test_bengali_words_stay_whole() -> None:
    # vowel signs, the virama, the nukta and ZWJ belong to their word; the danda ends it
    assert words("পণ্যটা একদম কাজ করে না। র‍্যাব, ক্ষতি") == ["পণ্যটা", "একদম", "কাজ", "করে", "না", "র\u200d্যাব", "ক্ষতি"]
    assert words("don't PANIC, it's 2 days") == ["don't", "panic", "it's", "2", "days"]


def test_both_spellings_of_ya_with_nukta_are_one_word() -> None:
    composed, decomposed = "\u09df", "\u09af\u09bc"  # য় as one code point and as য plus nukta
    assert words(f"সময়{composed}") == words(unicodedata.normalize("NFD", f"সময়{decomposed}"))


@pytest.mark.parametrize(("word", "stem"), [
    ("পণ্যটা", "পণ্য"), ("কোম্পানির", "কোম্পানি"), ("ব্যবহার", "ব্যবহার"), ("বাক্সে", "বাক্স"), ("ডেলিভারিতে", "ডেলিভারি"),
    ("কর্মীদের", "কর্মী"), ("জিনিসগুলো", "জিনিস"), ("দোকানের", "দোকান"), ("বাজার", "বাজার"), ("কাজ", "কাজ"),
])
def test_light_bengali_stemming(word: str, stem: str) -> None:
    assert is_bengali(word)
    assert bengali_stem(word) == stem


def test_the_negative_verb_ending_is_split_off() -> None:
    assert split_negation("পাইনি") == ("পাই", True)
    assert split_negation("কোম্পানি") == ("কোম্পানি", False)
