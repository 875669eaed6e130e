"""Other forms of a word (``celiac``/``celiacs``, ``abierto``/``abiertas``), by language.

Two words are forms of one another when the Snowball stemmer of one of the book's languages
gives them the same stem. The stemmers come from ``snowballstemmer``, which uses the compiled
ones of PyStemmer where that is installed. A keyword word of 3 letters or fewer has no other
forms (``hi`` is not ``his``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import snowballstemmer

__all__ = ["DEFAULT_LANGUAGES", "WordForms", "has_word_forms"]

DEFAULT_LANGUAGES = ("en",)

# Language codes of the book (settings.languages) -> the Snowball algorithm for that language.
_SNOWBALL = {
    "ar": "arabic",
    "hy": "armenian",
    "eu": "basque",
    "ca": "catalan",
    "cs": "czech",
    "da": "danish",
    "nl": "dutch",
    "en": "english",
    "eo": "esperanto",
    "et": "estonian",
    "fi": "finnish",
    "fr": "french",
    "de": "german",
    "el": "greek",
    "hi": "hindi",
    "hu": "hungarian",
    "id": "indonesian",
    "ga": "irish",
    "it": "italian",
    "lt": "lithuanian",
    "ne": "nepali",
    "no": "norwegian",
    "nb": "norwegian",
    "fa": "persian",
    "pl": "polish",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "st": "sesotho",
    "es": "spanish",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}


def has_word_forms(language: str) -> bool:
    """True when there is a Snowball stemmer for the language code ``language``."""
    name = _SNOWBALL.get(language)
    return name is not None and name in snowballstemmer.algorithms()


class WordForms:
    """Keyword words (by id) under their stem in each language, to look message words up."""

    def __init__(self, languages: Sequence[str] = ()) -> None:
        """``languages``: the book's codes, English when empty; one without a stemmer adds
        nothing."""
        codes = tuple(languages) or DEFAULT_LANGUAGES
        names = [_SNOWBALL[c] for c in codes if has_word_forms(c)]
        self._algorithms = tuple(dict.fromkeys(names))
        self._stemmers: list[Any] = self._new_stemmers()
        # Tuples rather than lists: the garbage collector stops visiting them.
        self._stems: list[dict[str, tuple[int, ...]]] = [{} for _ in self._stemmers]
        self._added: set[int] = set()
        # A stemmer keeps state while it works, so each thread takes a set of its own from
        # this pool (list.pop and list.append are atomic) and gives it back afterwards.
        self._pool: list[list[Any]] = []

    def __bool__(self) -> bool:
        return bool(self._stemmers)

    def _new_stemmers(self) -> list[Any]:
        return [snowballstemmer.stemmer(name) for name in self._algorithms]

    def add(self, word_id: int, word: str) -> None:
        """Index a keyword word; words of 3 letters or fewer are left out (they have no forms)."""
        if len(word) <= 3 or word_id in self._added:
            return
        self._added.add(word_id)
        for stemmer, table in zip(self._stemmers, self._stems, strict=True):
            stem = stemmer.stemWord(word)
            table[stem] = (*table.get(stem, ()), word_id)

    def of(self, word: str) -> set[int]:
        """The keyword words (ids) that ``word`` is a form of, itself included."""
        if not self._stemmers:
            return set()
        try:
            stemmers = self._pool.pop()
        except IndexError:
            stemmers = self._new_stemmers()
        stems = [stemmer.stemWord(word) for stemmer in stemmers]
        self._pool.append(stemmers)
        found: set[int] = set()
        for stem, table in zip(stems, self._stems, strict=True):
            found.update(table.get(stem, ()))
        return found
