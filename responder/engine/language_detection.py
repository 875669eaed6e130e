"""Telling a message's language among the book's languages, with the Lingua detector.

Lingua (``lingua-language-detector``) ships its language models inside the package, so
nothing is downloaded or read from outside the process, and it answers the same for the same
text every time. It was chosen over py3langid and langdetect for how it does on the short
messages customers send (see ``docs/performance.md``). It is restricted to the book's
languages, which makes it both more accurate and cheaper.

A detector says it cannot tell (None) when the message has fewer than
:data:`MIN_LETTERS` letters ("ok", "?", "👍") or when the best language is not ahead of the
next by :data:`MIN_MARGIN` of confidence: a wrong language is worse than the default one.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from lingua import IsoCode639_1, IsoCode639_3, Language, LanguageDetector, LanguageDetectorBuilder

__all__ = [
    "MIN_LETTERS",
    "MIN_MARGIN",
    "PRECISE_BELOW",
    "SAMPLE_CHARS",
    "LinguaDetector",
    "detectable",
    "detector_for",
]

MIN_LETTERS = 3
"""Fewer letters than this say nothing about a language: "ok", "no", "si"."""

MIN_MARGIN = 0.3
"""How far ahead of the next language the best one must be (confidences add up to 1)."""

SAMPLE_CHARS = 64
"""Only the start of a message is looked at, cut at a word: the cost grows with the length,
and a sentence tells the language as well as a page does (names such as "My name is José
García" mislead shorter samples)."""

PRECISE_BELOW = 24
"""Samples shorter than this go to Lingua's high-accuracy mode (letter sequences of one to
five letters), which is what tells "Hola" or "gracias" apart; longer ones to its
low-accuracy mode (sequences of three), as accurate on a sentence at half the cost."""


def _language(code: str) -> Language | None:
    try:
        if len(code) == 2:
            return Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
        return Language.from_iso_code_639_3(IsoCode639_3.from_str(code))
    except ValueError:
        return None


def detectable(codes: Iterable[str]) -> tuple[str, ...]:
    """The ``codes`` (lower-case ISO 639-1 or 639-3) that the detector knows, in order."""
    return tuple(code for code in codes if _language(code) is not None)


class LinguaDetector:
    """A :class:`~responder.engine.language.LanguageDetector` for a fixed set of languages.

    Make it with :func:`detector_for`, which shares one per set of languages in a process.
    The models are loaded as messages need them, not when it is made, so that loading a rule
    book stays cheap for the tools that never detect; :meth:`warm` loads them all at once.
    """

    def __init__(self, codes: tuple[str, ...]) -> None:
        languages = {}
        for code in codes:
            language = _language(code)
            if language is None:
                raise ValueError(f"no language detection for '{code}'")
            languages[language] = code
        if len(languages) < 2:
            raise ValueError("detection needs at least two languages")
        self.codes = codes
        self._codes = languages
        self._precise, self._quick = self._build(preload=False)
        self._warm = False

    def _build(self, *, preload: bool) -> tuple[LanguageDetector, LanguageDetector]:
        precise = LanguageDetectorBuilder.from_languages(*self._codes)
        quick = LanguageDetectorBuilder.from_languages(*self._codes).with_low_accuracy_mode()
        if preload:
            precise = precise.with_preloaded_language_models()
            quick = quick.with_preloaded_language_models()
        return precise.build(), quick.build()

    def __repr__(self) -> str:
        return f"LinguaDetector({self.codes!r})"

    def warm(self) -> None:
        """Load every model now (about 120 MB for English and Spanish), so that no message
        waits for one; without this, each is loaded when a message first needs it. Done
        once: books with the same languages share the detector (:func:`detector_for`)."""
        if not self._warm:
            self._precise, self._quick = self._build(preload=True)
            self._warm = True

    def detect(self, text: str) -> str | None:
        sample = _sample(text)
        if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
            return None
        detector = self._precise if len(sample) < PRECISE_BELOW else self._quick
        values = detector.compute_language_confidence_values(sample)
        if not values:
            return None
        best = values[0]
        runner_up = values[1].value if len(values) > 1 else 0.0
        if best.value - runner_up < MIN_MARGIN:
            return None
        return self._codes[best.language]


def _sample(text: str) -> str:
    """The first words of ``text`` up to :data:`SAMPLE_CHARS` characters (at least one)."""
    words = text.split()
    taken: list[str] = []
    size = 0
    for word in words:
        size += len(word) + bool(taken)
        if taken and size > SAMPLE_CHARS:
            break
        taken.append(word)
    return " ".join(taken)[: SAMPLE_CHARS * 2]


@cache
def detector_for(codes: tuple[str, ...]) -> LinguaDetector | None:
    """The detector for ``codes`` (the book's languages), or None when fewer than two of them
    can be detected. One per set of languages in a process: books reloaded share it."""
    known = detectable(codes)
    return LinguaDetector(known) if len(known) >= 2 else None
