"""Which language a reply is written in: the lead's locale, else the message's language.

:func:`choose_language` is a pure function over the lead, the message and the book's
``settings: languages`` (the default first). When the lead's locale names one of the book's
languages, it decides. Otherwise a :class:`LanguageDetector` tells the message's language
among the book's languages, or says it cannot tell; then the default language is used. A book
that names no languages is not looked at here: its replies follow the lead's locale only.

The detector used by the service is :class:`responder.engine.language_detection.LinguaDetector`;
anything with the same ``detect`` method will do (a test may pass its own).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from responder.engine.locales import locale_key

__all__ = ["LanguageDetector", "ReplyLanguage", "Source", "choose_language"]

_SHOWN_CHARS = 40  # of the message, in "could not tell from '...'"


class LanguageDetector(Protocol):
    """Tells which of a fixed set of languages a text is written in."""

    def detect(self, text: str) -> str | None:
        """One of the detector's language codes, or None when the text cannot tell.

        Must be deterministic (the same text always gets the same answer) and must not
        block on anything outside the process.
        """

    def warm(self) -> None:
        """Get ready now (load models), so that the first message does not wait."""


class Source(StrEnum):
    """What chose the reply language."""

    LOCALE = "locale"
    DETECTED = "detected"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class ReplyLanguage:
    """The language of one reply.

    ``code`` is one of the book's languages (``es``); ``locale`` is what the reply's template
    is picked with: the lead's own locale when it decided (so ``es_MX`` still finds
    ``welcome.es-MX.j2``), else ``code``. ``why`` says in words what chose it.
    """

    code: str
    locale: str
    source: Source
    why: str

    def __str__(self) -> str:
        return f"language {self.code}: {self.why}"


def choose_language(
    locale: str,
    text: str,
    languages: Sequence[str],
    detector: LanguageDetector | None,
    written: Collection[str] | None = None,
) -> ReplyLanguage:
    """The reply language for a lead with ``locale`` who wrote ``text``.

    ``languages`` are the book's languages, the default first (at least one). The lead's
    locale decides when its language is one of them (``es_MX`` for ``es``); else
    ``detector`` (None: never detect, as for a book of one language) tells the language of
    ``text``; when it cannot, the default language is used. ``written`` are the languages
    the reply at hand is written in (None: all of them): a reply in the default language
    only is not worth a detection.
    """
    default = languages[0]
    key = locale_key(locale)
    primary = key.split("-")[0]
    if primary in languages:
        return ReplyLanguage(primary, locale, Source.LOCALE, f"the lead's locale {locale.strip()}")
    besides = f" (the lead's locale {locale.strip()} is not one of the book's languages)"
    besides = besides if key else ""
    if len(languages) == 1:
        return ReplyLanguage(default, default, Source.DEFAULT, "the book's only language" + besides)
    if detector is None:
        why = "the default; the book's other languages cannot be told from a message"
        return ReplyLanguage(default, default, Source.DEFAULT, why + besides)
    if written is not None and not any(code in written for code in languages[1:]):
        why = f"the reply is written in {default} only"
        return ReplyLanguage(default, default, Source.DEFAULT, why + besides)
    found = detector.detect(text)
    if found is not None and found in languages:
        return ReplyLanguage(found, found, Source.DETECTED, "detected from the message" + besides)
    shown = " ".join(text.split())
    if len(shown) > _SHOWN_CHARS:
        shown = shown[: _SHOWN_CHARS - 1].rstrip() + "…"
    why = f"the default; could not tell from '{shown}'" + besides
    return ReplyLanguage(default, default, Source.DEFAULT, why)
