"""The language machinery every customer-facing text uses (shared/i18n.py): which language wins,
how dates, durations and numbers are written, and catalogs that are complete and compile from a
fresh clone."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from services.intake.pages import TRANSLATIONS
from shared import i18n
from shared.org import DEFAULT_ROOT_CAUSES

AVAILABLE = ("bn", "en")
AT = datetime(2026, 12, 3, 8, 31, tzinfo=UTC)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def test_the_first_candidate_with_a_catalog_wins_in_the_given_order() -> None:
    # feedback locale, then ?lang=, then Accept-Language, then the org's default
    assert i18n.negotiate(["bn-BD", "en", "en-US"], AVAILABLE, "en") == "bn_BD"
    assert i18n.negotiate([None, "bn", "en-US"], AVAILABLE, "en") == "bn"
    assert i18n.negotiate([None, None, "fr-FR", "bn"], AVAILABLE, "en") == "bn"
    assert i18n.negotiate([None, None], AVAILABLE, "bn") == "bn"
    assert i18n.negotiate([], AVAILABLE, "bn-BD") == "bn_BD"


def test_languages_without_a_catalog_and_junk_are_passed_over() -> None:
    assert i18n.negotiate(["fr-FR", "de", "en-GB"], AVAILABLE, "bn") == "en_GB"  # English words, British dates
    assert i18n.negotiate(["<script>", "x" * 40, "zz-ZZ", ""], AVAILABLE, "bn") == "bn"
    assert i18n.negotiate(["fr"], AVAILABLE, "de") == "en"  # neither has a catalog: English


def test_dates_name_their_timezone_and_are_written_in_the_language() -> None:
    assert i18n.format_when(AT, "en_GB", "Asia/Dhaka") == "3 Dec 2026, 14:31 (Asia/Dhaka)"
    assert i18n.format_when(AT, "en_GB", None) == "3 Dec 2026, 08:31 (UTC)"
    assert i18n.format_when(AT, "en", "America/New_York") == "Dec 3, 2026, 3:31\u202fAM (America/New_York)"
    # Bengali month, Bengali digits, the time in Dhaka
    assert i18n.format_when(AT, "bn", "Asia/Dhaka") == "৩ ডিসে, ২০২৬ ২:৩১ PM (Asia/Dhaka)"


def test_a_timezone_that_is_not_one_is_ignored_and_the_date_says_utc() -> None:
    for bad in ("Mars/Olympus", "../../etc/passwd", "Asia/Dhaka\n", "x" * 80, ""):
        assert i18n.zone(bad) is None
        assert i18n.format_when(AT, "en_GB", bad).endswith("08:31 (UTC)")


def test_durations_and_numbers_are_written_in_the_language() -> None:
    assert i18n.format_duration(24 * 3600, "en") == "24 hours"
    assert i18n.format_duration(4 * 3600, "en") == "4 hours"
    assert i18n.format_duration(3 * 86400, "en") == "3 days"
    assert i18n.format_duration(30 * 60, "en") == "30 minutes"
    assert i18n.format_duration(24 * 3600, "bn") == "২৪ ঘণ্টা"
    assert i18n.format_number(10_000, "en") == "10,000"
    assert i18n.format_number(10_000, "bn") == "১০,০০০"


def test_messages_speak_the_first_language_with_a_catalog_outside_any_request() -> None:
    words = i18n.messages([i18n.SHARED_TRANSLATIONS, TRANSLATIONS], ["fr-FR", "bn-BD"], default="en",
                          timezone="Asia/Dhaka")
    assert (words.locale, words.tag) == ("bn_BD", "bn-BD")
    assert words.gettext("Thank you") == "ধন্যবাদ"
    assert words.gettext("Write to %(who)s", who="Tom") == "Tom-কে লিখুন"
    assert words.gettext("Delivery and logistics") == "ডেলিভারি ও পরিবহন"  # the shared catalog
    assert words.when(AT) == "৩ ডিসে, ২০২৬ ২:৩১ PM (Asia/Dhaka)"
    english = i18n.messages(TRANSLATIONS, [None], default="en", timezone="Nowhere/Land")
    assert english.gettext("Thank you") == "Thank you" and english.when(AT).endswith("(UTC)")


def _catalogs(folder: Path) -> dict[str, dict[str, str]]:
    found = {}
    for po in i18n.catalog_files(folder):
        with po.open("rb") as handle:
            catalog = read_po(handle)
        assert not any(m.fuzzy for m in catalog if m.id), f"{po} has fuzzy entries"
        found[po.parent.parent.name] = {m.id: m.string for m in catalog if m.id}
    return found


@pytest.mark.parametrize("folder", [TRANSLATIONS, i18n.SHARED_TRANSLATIONS], ids=["intake", "shared"])
def test_english_and_bengali_catalogs_translate_every_word_with_the_same_placeholders(folder: Path) -> None:
    with (folder / "messages.pot").open("rb") as handle:
        wanted = {m.id for m in read_po(handle) if m.id}
    catalogs = _catalogs(folder)
    assert set(catalogs) >= {"en", "bn"}
    for language, entries in catalogs.items():
        assert set(entries) == wanted, f"{language}: catalog and messages.pot differ"
        for msgid, text in entries.items():
            assert text.strip(), f"{language}: {msgid!r} is not translated"
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(msgid)), (language, msgid)
    assert all(re.search("[\u0980-\u09ff]", text) for text in catalogs["bn"].values())  # written in Bengali


def test_the_default_root_causes_have_bengali_wording() -> None:
    bengali = _catalogs(i18n.SHARED_TRANSLATIONS)["bn"]
    for cause in DEFAULT_ROOT_CAUSES:
        assert cause["label"] in bengali and cause["plain"] in bengali, cause["code"]


def test_the_templates_words_are_all_in_the_catalog_template() -> None:
    """``make catalogs`` was run after the last change of a customer page's words."""
    from babel.messages.extract import extract_from_dir

    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        catalogued = {m.id for m in read_po(handle) if m.id}
    root = TRANSLATIONS.parent
    found = {message for _, _, message, *_ in extract_from_dir(
        str(root), method_map=[("templates/**.html", "jinja2"), ("**.py", "python")],
        keywords={"_": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)})}
    found = {m if isinstance(m, str) else m[0] for m in found}
    assert found == catalogued


def test_catalogs_missing_their_compiled_files_are_compiled_on_first_use(tmp_path: Path) -> None:
    folder = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, folder, ignore=shutil.ignore_patterns("*.mo"))
    assert not list(folder.glob("*/LC_MESSAGES/*.mo"))  # a fresh clone: only the .po files
    words = i18n.messages(folder, ["bn"])
    assert words.gettext("Send") == "পাঠান"
    assert sorted(p.parent.parent.name for p in folder.glob("*/LC_MESSAGES/messages.mo")) == ["bn", "en"]
    assert i18n.compile_catalogs(folder) == []  # up to date: nothing rewritten


def test_only_the_callers_own_catalogs_decide_the_language(tmp_path: Path) -> None:
    """Staff pages with only an English catalog stay English for a Bengali browser, even though the
    shared catalog (root causes) has Bengali; adding a ``bn`` folder of their own adds Bengali."""
    staff = tmp_path / "staff"
    shutil.copytree(TRANSLATIONS / "en", staff / "en", ignore=shutil.ignore_patterns("*.mo"))
    words = i18n.messages([i18n.SHARED_TRANSLATIONS, staff], ["bn-BD"], default="bn")
    assert words.locale == "en" and words.gettext("Delivery and logistics") == "Delivery and logistics"
    shutil.copytree(TRANSLATIONS / "bn", staff / "bn", ignore=shutil.ignore_patterns("*.mo"))
    words = i18n.messages([i18n.SHARED_TRANSLATIONS, staff], ["bn-BD"])
    assert words.locale == "bn_BD" and words.gettext("Delivery and logistics") == "ডেলিভারি ও পরিবহন"


def test_a_template_outside_flask_speaks_the_customers_language() -> None:
    """What notify's customer mails use: a plain Jinja environment, one customer's language and timezone."""
    from jinja2 import DictLoader, Environment, select_autoescape

    env = Environment(loader=DictLoader({"mail.html": "<p>{{ _('Write to %(who)s', who=name) }}</p>"
                                                      "<p>{{ due|when }} · {{ 14400|duration }}</p>"}),
                      autoescape=select_autoescape(default=True))
    mails = i18n.jinja_i18n(env)  # one environment for every language, safe across threads
    bengali = i18n.messages([i18n.SHARED_TRANSLATIONS, TRANSLATIONS], ["bn-BD"], timezone="Asia/Dhaka")
    english = i18n.messages(TRANSLATIONS, [None])
    template = mails.get_template("mail.html")
    assert template.render(words=bengali, name="<Tom>", due=AT) == (
        "<p>&lt;Tom&gt;-কে লিখুন</p><p>৩ ডিসে, ২০২৬ ২:৩১ PM (Asia/Dhaka) · ৪ ঘণ্টা</p>")
    assert template.render(words=english, name="Tom", due=AT) == (
        "<p>Write to Tom</p><p>Dec 3, 2026, 8:31\u202fAM (UTC) · 4 hours</p>")
    assert template.render(words=bengali, name="Tom", due=AT).startswith("<p>Tom-কে লিখুন")
    assert "_" not in env.globals and "when" not in env.filters  # the environment it came from is untouched
