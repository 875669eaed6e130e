"""Keyword and regular-expression matching for the rules engine.

Keywords (the contract with rule authors):

* text and keyword go through the same :func:`responder.engine.normalize.normalize`;
* a keyword matches where its words appear consecutively as whole words, so ``hi`` does not
  fire on ``this`` and ``opening hours`` matches ``Opening-hours?``;
* ``cost*`` matches any word starting with ``cost`` (``cost``, ``costs``, ``costly``);
  ``*`` is allowed only at the very end, straight after a letter, digit or emoji;
* emoji are words too (``👍`` matches ``ok👍🏽``);
* where a keyword starts or ends in a script written without spaces (Chinese, Japanese, Thai,
  ...) that end is not tied to a word boundary, so ``价格`` matches inside ``请问价格是多少``.

All of it is one rule: the keyword, with a space added on each side that ends in a letter, digit
or emoji (none after a ``*``), must occur in the normalised text with a space added on both
sides. :class:`KeywordIndex` looks all keywords up in one Aho-Corasick pass, so the cost of a
search does not grow with the number of keywords.

Regular expressions use RE2 syntax (linear time, no backtracking), are case-insensitive and are
searched in the original text. :class:`RegexSet` runs all of them in one pass of an RE2 set and
then only the patterns that matched, to read their named groups.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ahocorasick
import re2

from responder.engine.normalize import is_spaceless_char, is_spaceless_script, normalize

__all__ = [
    "Keyword",
    "KeywordIndex",
    "RegexSet",
    "check_regex",
    "keyword_covers",
    "parse_keyword",
]


@dataclass(frozen=True)
class Keyword:
    """One keyword as written by an author (``source``) and as it is matched.

    ``normalized`` is the normalised text without the ``*``; ``prefix`` is True for ``word*``;
    ``spaceless`` is True when it contains a script written without spaces.
    """

    source: str
    normalized: str
    prefix: bool
    spaceless: bool

    @property
    def needle(self) -> str:
        """The string searched for in ``" " + normalised text + " "``."""
        left = "" if is_spaceless_char(self.normalized[0]) else " "
        right = "" if self.prefix or is_spaceless_char(self.normalized[-1]) else " "
        return f"{left}{self.normalized}{right}"


def parse_keyword(raw: str) -> Keyword:
    """Read one keyword as an author wrote it.

    Raises ValueError with a sentence for the author when nothing would be left to match, or
    when ``*`` is used anywhere but straight after the last word.
    """
    text = raw.strip()
    prefix = text.endswith("*")
    body = text[:-1] if prefix else text
    if "*" in body:
        raise ValueError(
            f"{raw!r}: '*' is only allowed once, at the very end of a keyword (like 'cost*')."
        )
    if prefix and body and not normalize(body[-1]):
        raise ValueError(
            f"{raw!r}: '*' must come straight after a letter, digit or emoji (like 'cost*')."
        )
    normalized = normalize(body)
    if not normalized:
        raise ValueError(f"{raw!r} has no letters, digits or emoji left to match.")
    return Keyword(
        source=raw,
        normalized=normalized,
        prefix=prefix,
        spaceless=is_spaceless_script(normalized),
    )


def keyword_covers(general: Keyword, specific: Keyword) -> bool:
    """True when every text containing `specific` necessarily contains `general`.

    Used to warn that an earlier rule's keyword always catches a later rule's keyword first:
    "price" covers "price list" and "the price"; "cost*" covers "costs" and "cost"; "price"
    does not cover "prices"; a spaceless keyword covers another that contains it as a
    substring. Decided on the needles (see the module docstring): wherever a needle occurs, so
    does every needle inside it. Never raises.
    """
    return general.needle in specific.needle


class KeywordIndex:
    """All keywords of a rule book, compiled once into a single Aho-Corasick automaton."""

    def __init__(self, entries: Iterable[tuple[int, Keyword]]) -> None:
        """``entries`` pairs an id chosen by the caller with a keyword; ids must be unique
        (ValueError otherwise). Several ids may share the same keyword."""
        by_needle: dict[str, list[int]] = {}
        seen: set[int] = set()
        for key_id, keyword in entries:
            if key_id in seen:
                raise ValueError(f"keyword id {key_id} is used twice")
            seen.add(key_id)
            by_needle.setdefault(keyword.needle, []).append(key_id)
        self._size = len(seen)
        self._automaton: Any = None
        if by_needle:
            automaton = ahocorasick.Automaton(ahocorasick.STORE_ANY, ahocorasick.KEY_STRING)
            for needle, ids in by_needle.items():
                automaton.add_word(needle, tuple(ids))
            automaton.make_automaton()
            self._automaton = automaton

    def search(self, normalized_text: str) -> set[int]:
        """Ids of the keywords present in text already passed through ``normalize``."""
        found: set[int] = set()
        if self._automaton is None:
            return found
        for _end, ids in self._automaton.iter(f" {normalized_text} "):
            found.update(ids)
        return found

    def __len__(self) -> int:
        return self._size


def _options(max_mem: int | None = None) -> Any:
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    if max_mem is not None:
        options.max_mem = max_mem
    return options


_OPTIONS = _options()

# RE2's own wording, then what it means for someone who knows other regex dialects.
_EXPLANATIONS = (
    ("invalid perl operator: (?<=", "look-behind (?<=...) is not supported"),
    ("invalid perl operator: (?<!", "look-behind (?<!...) is not supported"),
    ("invalid perl operator: (?=", "look-ahead (?=...) is not supported"),
    ("invalid perl operator: (?!", "look-ahead (?!...) is not supported"),
    ("invalid perl operator: (?>", "atomic groups (?>...) are not supported"),
    ("invalid escape sequence: \\k", "named backreferences (\\k<name>) are not supported"),
    (
        "invalid repetition size",
        "a repeat count {n,m} must stay at or below 1000, with n no larger than m",
    ),
    ("bad repetition operator", "a repetition cannot itself be repeated (as in a** or a++)"),
    ("missing argument to repetition operator", "a *, + or ? has nothing before it to repeat"),
    ("no argument for repetition operator", "a *, + or ? has nothing before it to repeat"),
    ("missing ]", "a [ is never closed"),
    ("missing )", "a ( is never closed"),
    ("unexpected )", "a ) has no matching ("),
    ("trailing \\", "it ends with a lone backslash"),
    ("invalid character class range", "a range inside [...] runs backwards, like z-a"),
    ("invalid named capture group", "a group name must be letters, digits or _"),
    ("duplicate capture group name", "two groups have the same name"),
    ("pattern too large", "it is too large"),
)
_BACKREFERENCE = re2.compile(r"invalid escape sequence: \\\d")


def _explain(reason: str) -> str | None:
    if _BACKREFERENCE.match(reason):
        return f"backreferences such as {reason.rsplit(' ', 1)[-1]} are not supported"
    return next((text for start, text in _EXPLANATIONS if reason.startswith(start)), None)


def _reason(error: Exception) -> str:
    raw = error.args[0] if error.args else ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def check_regex(pattern: str) -> str | None:
    """None if the pattern compiles under RE2, else a one-sentence explanation (include RE2's
    reason, e.g. look-behind and backreferences are not supported). Never raises."""
    try:
        re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        reason = _reason(error)
        meaning = _explain(reason)
        if meaning is None:
            return f"The regular expression {pattern!r} is not valid RE2 syntax ({reason})."
        return f"The regular expression {pattern!r} cannot be used: {meaning} (RE2: {reason})."
    return None


class RegexSet:
    """Case-insensitive RE2 patterns searched together in the original (not normalised) text.

    One RE2 set finds which patterns match in a single linear pass; only those are then run
    on their own to read named groups. Should the set not fit ``set_max_mem`` bytes, or give up
    on a text, every pattern is tried on its own instead: slower, same answer.
    """

    def __init__(self, entries: Iterable[tuple[int, str]], *, set_max_mem: int = 64 << 20) -> None:
        """``entries`` pairs a unique id with a pattern already accepted by :func:`check_regex`.

        Raises ValueError for a repeated id or a pattern RE2 rejects.
        """
        self._ids: list[int] = []
        self._compiled: list[Any] = []
        seen: set[int] = set()
        for pattern_id, pattern in entries:
            if pattern_id in seen:
                raise ValueError(f"regular expression id {pattern_id} is used twice")
            problem = check_regex(pattern)
            if problem is not None:
                raise ValueError(problem)
            seen.add(pattern_id)
            self._ids.append(pattern_id)
            self._compiled.append(re2.compile(pattern, _OPTIONS))
        self._set: Any = self._build_set(set_max_mem)

    def _build_set(self, max_mem: int) -> Any:
        if not self._compiled:
            return None
        regex_set = re2.Set.SearchSet(_options(max_mem))
        try:
            for compiled in self._compiled:
                regex_set.Add(compiled.pattern)
            # The empty pattern matches every text: its absence from an answer means the set
            # ran out of memory mid-search rather than that nothing matched.
            regex_set.Add("")
            regex_set.Compile()
        except re2.error:
            return None
        return regex_set

    @property
    def uses_set(self) -> bool:
        """False when the patterns are tried one by one (none, or too large for one set)."""
        return self._set is not None

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, text: str) -> dict[int, dict[str, str]]:
        """Ids of matching patterns, each with its named groups ('' for unmatched groups)."""
        if not self._compiled:
            return {}
        candidates: Iterable[int] = range(len(self._compiled))
        if self._set is not None:
            hits = self._set.Match(text)
            sentinel = len(self._compiled)
            if hits is not None and sentinel in hits:
                candidates = sorted(i for i in hits if i != sentinel)
        found: dict[int, dict[str, str]] = {}
        for index in candidates:
            match = self._compiled[index].search(text)
            if match is not None:
                groups = match.groupdict()
                found[self._ids[index]] = {
                    name: "" if value is None else value for name, value in groups.items()
                }
        return found
