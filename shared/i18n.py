"""Languages for people: gettext catalogs, which language a page or a message speaks, and dates,
durations and numbers written the way that language writes them.

Catalogs live in a service's ``translations/<language>/LC_MESSAGES/messages.po`` (committed); the
``.mo`` files are compiled at install time (``make``'s install step, the Dockerfile:
``python -m shared.i18n compile``), and again when a service loads a folder whose ``.mo`` is missing
or older than its ``.po`` (a fresh clone, an edited catalog). A language is offered when its
folder has a catalog; adding a folder adds a language.

Everything but :func:`install` is plain Babel and Jinja, so code with no Flask request (notify's
mails) speaks the customer's language the same way::

    words = i18n.messages([i18n.SHARED_TRANSLATIONS, FOLDER], [feedback_locale], default=org.language,
                          timezone=tz)
    words.gettext("Hello %(name)s", name=name); words.when(due_at); words.duration(14400)

:func:`install` wires Flask-Babel into an app: each request's language is the first of the
page's hint (a feedback's ``locale``, see :func:`use`), ``?lang=``, ``Accept-Language``, the
org's default that has a catalog. Templates get ``_()``/``ngettext()`` (autoescaped arguments) and
the filters ``when`` (a date and time in the page's timezone, naming it), ``duration`` and
``number``; ``html_lang`` is the page's BCP 47 tag.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

log = logging.getLogger(__name__)

DEFAULT_LANGUAGE = "en"
DOMAIN = "messages"
SHARED_TRANSLATIONS = Path(__file__).parent / "translations"
"""Words every service may show a customer: the default root causes' labels and plain wording."""
LOCALE_TAG = re.compile(r"^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$")
"""A BCP 47 language tag as intake accepts it (``bn``, ``bn-BD``, ``en_GB``)."""
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")
# the digits of the numbering systems CLDR gives as a language's default (Babel writes Latin digits)
_ZERO = {"arab": 0x0660, "arabext": 0x06F0, "beng": 0x09E6, "deva": 0x0966, "gujr": 0x0AE6, "guru": 0x0A66,
         "knda": 0x0CE6, "mlym": 0x0D66, "mymr": 0x1040, "orya": 0x0B66, "tamldec": 0x0BE6, "telu": 0x0C66,
         "thai": 0x0E50, "tibt": 0x0F20, "khmr": 0x17E0, "laoo": 0x0ED0}


# -- catalogs ---------------------------------------------------------------------------------------

def catalog_files(folder: str | Path) -> list[Path]:
    """Every ``<language>/LC_MESSAGES/*.po`` under ``folder``."""
    return sorted(Path(folder).glob("*/LC_MESSAGES/*.po"))


def compile_catalogs(*folders: str | Path, force: bool = False) -> list[Path]:
    """Compile each ``.po`` of ``folders`` whose ``.mo`` is missing or older (all with ``force``).

    Returns the ``.mo`` files written. A file is written whole (a temporary file renamed), so
    processes starting side by side never read half a catalog. Raises ``OSError`` when a folder
    cannot be written.
    """
    written = []
    for po in (p for folder in folders for p in catalog_files(folder)):
        mo = po.with_suffix(".mo")
        if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as source:
            catalog = read_po(source, locale=po.parent.parent.name, domain=po.stem)
        handle, temporary = tempfile.mkstemp(dir=po.parent, prefix=".messages-", suffix=".mo")
        try:
            with os.fdopen(handle, "wb") as target:
                write_mo(target, catalog, use_fuzzy=False)
            os.replace(temporary, mo)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(mo)
    return written


_ready: set[Path] = set()


def ensure_compiled(folder: str | Path) -> None:
    """Compile ``folder``'s stale catalogs once per process; a folder that cannot be written (an
    installed image, compiled at build time) is used as it is."""
    path = Path(folder).resolve()
    if path in _ready:
        return
    try:
        written = compile_catalogs(path)
        if written:
            log.info("compiled %d catalog(s) in %s", len(written), path)
    except OSError as exc:
        log.warning("cannot compile the catalogs in %s (%s); using the compiled ones there", path, exc)
    _ready.add(path)


def languages(*folders: str | Path) -> tuple[str, ...]:
    """The languages ``folders`` hold a catalog for (folder names: ``bn``, ``en``, ``pt_BR``)."""
    found = {po.parent.parent.name for folder in folders for po in catalog_files(folder)}
    return tuple(sorted(found))


@lru_cache(maxsize=256)
def _load(folders: tuple[Path, ...], locale: str, domain: str) -> NullTranslations:
    merged: Translations | None = None
    for folder in folders:
        ensure_compiled(folder)
        found = Translations.load(str(folder), [locale], domain)
        if isinstance(found, Translations):
            if merged is None:
                merged = found
            else:
                merged.merge(found)
    return merged if merged is not None else NullTranslations()


def translations(folders: str | Path | Sequence[str | Path], locale: str,
                 domain: str = DOMAIN) -> NullTranslations:
    """The gettext translations of ``locale`` (``bn_BD`` falls back to ``bn``) from ``folders``
    (later folders add to earlier ones); English words as written when there is no catalog."""
    paths = (folders,) if isinstance(folders, str | Path) else tuple(folders)
    return _load(tuple(Path(p).resolve() for p in paths), str(locale), domain)


# -- which language ---------------------------------------------------------------------------------

def language_tag(locale: str | Locale) -> str:
    """``bn-BD`` for ``bn_BD``: the form HTML's ``lang`` and the feedback's ``locale`` take."""
    return str(locale).replace("_", "-")


def negotiate(candidates: Iterable[str | None], available: Iterable[str], default: str = DEFAULT_LANGUAGE) -> str:
    """The locale to speak: the first candidate whose language has a catalog in ``available``.

    Candidates are BCP 47 tags in order of preference (a feedback's ``locale``, ``?lang=``, the
    ``Accept-Language`` entries, the org's default). The answer is a Babel identifier that keeps a
    known region for formatting (``bn-BD`` gives ``bn_BD``, ``en-GB`` gives ``en_GB``: the catalog
    is ``bn``'s, dates are written as in Bangladesh). ``default`` (or English) when none has one.
    """
    have = {a.replace("-", "_").lower(): a for a in available}
    for candidate in (*candidates, default, DEFAULT_LANGUAGE):
        if not candidate or len(candidate) > 35 or not LOCALE_TAG.match(candidate):
            continue
        tag = candidate.replace("-", "_")
        try:
            locale = Locale.parse(tag)
        except (UnknownLocaleError, ValueError):
            try:
                locale = Locale.parse(tag.split("_")[0])
            except (UnknownLocaleError, ValueError):
                continue
        if str(locale).lower() in have or locale.language in have:
            return str(locale)
    return DEFAULT_LANGUAGE


def display_name(language: str) -> str:
    """A language's name in itself: ``বাংলা`` for ``bn``, for a language switch."""
    try:
        name = Locale.parse(language).get_display_name(language) or language
    except (UnknownLocaleError, ValueError):
        return language
    return name[:1].upper() + name[1:]


# -- how it is written ------------------------------------------------------------------------------

def zone(name: str | None) -> ZoneInfo | None:
    """The IANA timezone ``name`` (``Asia/Dhaka``), or ``None`` when it is not one."""
    if not name or len(name) > 64 or not _ZONE_NAME.match(name):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def native_digits(text: str, locale: str | Locale) -> str:
    """``text`` with the digits the language writes by default (Bengali ``২৪``); Babel writes Latin ones."""
    try:
        system = Locale.parse(str(locale)).default_numbering_system
    except (UnknownLocaleError, ValueError, AttributeError):
        return text
    zero = _ZERO.get(system)
    if zero is None:
        return text
    return text.translate({ord("0") + i: zero + i for i in range(10)})


def format_when(at: datetime, locale: str | Locale, timezone: str | None = None) -> str:
    """A date and time in ``timezone`` (UTC when unknown), saying which: ``3 Dec 2026, 14:31 (Asia/Dhaka)``
    in ``en_GB``, ``৩ ডিসে, ২০২৬ ২:৩১ PM (Asia/Dhaka)`` in ``bn``."""
    tz = zone(timezone)
    label = timezone if tz is not None and timezone not in ("UTC", "Etc/UTC") else "UTC"
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    local = at.astimezone(tz or UTC)
    loc = Locale.parse(str(locale))
    pattern = str(loc.datetime_formats.get("medium", "{1} {0}"))
    text = pattern.replace("{1}", format_date(local, "medium", locale=loc)).replace(
        "{0}", format_time(local, "short", locale=loc))
    return f"{native_digits(text, loc)} ({label})"


def format_duration(seconds: float | timedelta, locale: str | Locale) -> str:
    """``24 hours``, ``4 hours``, ``2 days``, ``90 minutes`` (``২৪ ঘণ্টা`` in Bengali): whole days only
    from two days on, so a day's promise reads as hours."""
    delta = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
    text = format_timedelta(delta, threshold=2, locale=str(locale))
    return native_digits(text, locale)


def format_number(value: float, locale: str | Locale) -> str:
    """A number as the language writes it (grouping and digits)."""
    return native_digits(format_decimal(value, locale=str(locale)), locale)


@dataclass
class Messages:
    """One language's words and ways of writing, outside any web request (e.g. a mail to a customer)."""

    locale: str
    translations: NullTranslations
    timezone: str | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def tag(self) -> str:
        """The BCP 47 tag, e.g. for ``<html lang>`` or a mail's ``Content-Language``."""
        return language_tag(self.locale)

    def gettext(self, text: str, **variables: Any) -> str:
        found = self.translations.ugettext(text)
        return found % variables if variables else found

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> str:
        found = self.translations.ungettext(singular, plural, n)
        return found % {"num": n, **variables}

    def when(self, at: datetime) -> str:
        return format_when(at, self.locale, self.timezone)

    def duration(self, seconds: float | timedelta) -> str:
        return format_duration(seconds, self.locale)

    def number(self, value: float) -> str:
        return format_number(value, self.locale)


def messages(folders: str | Path | Sequence[str | Path], candidates: Iterable[str | None], *,
             default: str = DEFAULT_LANGUAGE, timezone: str | None = None) -> Messages:
    """The :class:`Messages` of the first candidate language the LAST of ``folders`` (the caller's own
    catalog; earlier ones, e.g. :data:`SHARED_TRANSLATIONS`, only add words) has a catalog for, else
    ``default``'s, else English: ``messages([SHARED_TRANSLATIONS, FOLDER], [feedback.locale],
    default=org.language, timezone=tz)``."""
    paths = [folders] if isinstance(folders, str | Path) else list(folders)
    for path in paths:
        ensure_compiled(path)
    locale = negotiate(candidates, languages(paths[-1]), default)
    return Messages(locale, translations(paths, locale), timezone if zone(timezone) else None)


def jinja_i18n(env: Any) -> Any:
    """A Jinja environment like ``env`` whose templates speak the language of the :class:`Messages`
    each render is given as ``words``: ``_()``, ``gettext()``, ``ngettext()`` (arguments autoescaped)
    and the ``when``/``duration``/``number`` filters. Made once (it is thread-safe), used for every
    language: ``mails.get_template("email.html").render(words=i18n.messages(...), ...)``. For
    templates outside Flask, e.g. a customer's mail."""
    from jinja2 import pass_context

    @pass_context
    def gettext(context: Any, text: str) -> str:
        return str(context["words"].translations.ugettext(text))

    @pass_context
    def ngettext(context: Any, singular: str, plural: str, n: int) -> str:
        return str(context["words"].translations.ungettext(singular, plural, n))

    overlay = env.overlay(cache_size=400)  # its own templates: none compiled for ``env`` without gettext
    overlay.globals = dict(env.globals)  # an overlay shares these dicts with ``env`` otherwise
    overlay.filters = dict(env.filters)
    overlay.add_extension("jinja2.ext.i18n")
    overlay.install_gettext_callables(gettext, ngettext, newstyle=True)
    overlay.filters.update(
        when=pass_context(lambda context, at: context["words"].when(at) if at is not None else ""),
        duration=pass_context(lambda context, seconds: context["words"].duration(seconds)),
        number=pass_context(lambda context, value: context["words"].number(value)))
    return overlay


# -- Flask ------------------------------------------------------------------------------------------

def install(app: Any, folders: Sequence[str | Path], *, default: Callable[[], str | None] | str | None = None) -> None:
    """Give ``app`` Flask-Babel with the catalogs of ``folders`` (compiled now if stale).

    The languages offered are those of the LAST folder, the app's own catalog (earlier ones, e.g.
    :data:`SHARED_TRANSLATIONS`, only add words): staff pages with only an English catalog stay
    English whatever the browser says, and a team adds its language by adding a folder there.
    ``default`` is the org's language (or a function returning it) when nothing else decides.
    Pages tied to a feedback call :func:`use` with its ``locale`` and timezone before rendering.
    """
    from flask import g, request
    from flask_babel import Babel

    paths = [Path(p).resolve() for p in folders]
    for path in paths:
        ensure_compiled(path)
    available = languages(paths[-1])

    def fallback() -> str | None:
        return default() if callable(default) else default

    def select() -> str:
        hint = g.get("closeloop_locale_hint")
        chosen = request.args.get("lang") if request else None
        accepted = [value for value, _ in request.accept_languages] if request else []
        return negotiate([hint, chosen, *accepted], available, fallback() or DEFAULT_LANGUAGE)

    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(p) for p in paths)
    Babel(app, locale_selector=select)
    app.extensions["closeloop_languages"] = available

    current = current_locale

    def when(at: datetime | None) -> str:
        return format_when(at, current(), g.get("closeloop_timezone")) if at is not None else ""

    app.jinja_env.filters.update(when=when, duration=lambda s: format_duration(s, current()),
                                 number=lambda n: format_number(n, current()))

    @app.context_processor
    def _language() -> dict[str, Any]:
        return {"html_lang": language_tag(current()), "page_language": current().split("_")[0]}


def use(locale: str | None = None, timezone: str | None = None) -> None:
    """In a request: speak the feedback's ``locale`` if there is a catalog for it (it comes before
    ``?lang=``), and write times in ``timezone`` (an IANA name; UTC when unknown)."""
    from flask import g
    from flask_babel import refresh

    g.closeloop_locale_hint = locale
    g.closeloop_timezone = timezone if zone(timezone) else None
    refresh()


def current_locale() -> str:
    """The locale of the current request's page (``bn_BD``, ``en``)."""
    from flask_babel import get_locale

    return str(get_locale() or DEFAULT_LANGUAGE)


def current_language() -> str:
    """The language of the current request's page (``bn``, ``en``)."""
    return current_locale().split("_")[0]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m shared.i18n compile [FOLDER...]``: compile the catalogs (every service's by default)."""
    parser = argparse.ArgumentParser(prog="python -m shared.i18n")
    parser.add_argument("command", choices=["compile"])
    parser.add_argument("folders", nargs="*", help="translations folders (default: shared's and every service's)")
    parser.add_argument("--force", action="store_true", help="compile even the catalogs that look up to date")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    folders = [Path(f) for f in args.folders] or sorted(
        p for p in (root / "shared" / "translations", *root.glob("services/*/translations")) if p.is_dir())
    written = compile_catalogs(*folders, force=args.force)
    print(f"{len(written)} catalog(s) compiled in {len(folders)} folder(s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
