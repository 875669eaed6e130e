"""Keywords that forgive how customers write: other forms of a word, typos, compounds.

The contract with rule authors (``docs/rules.md``, "Forgiving customers"):

* it applies to the keywords (``keywords``, ``all``, ``exclude``) of rules with
  ``word_forms: true`` or ``typos: true``, except ``word*`` keywords and keywords in a script
  written without spaces, which match as written;
* a message word is compared with a keyword word, phrase words in order, after the one
  :func:`responder.engine.normalize.normalize`; a keyword word of 3 letters or fewer only ever
  matches itself, so ``hi`` never matches ``his`` or ``this``;
* ``word_forms``: the two words have the same Snowball stem in one of the book's languages
  (``celiac``/``celiacs``, ``abierto``/``abiertas``);
* ``typos``: a word of 4 to 8 letters may differ by one typo, a word of 9 or more by two (an
  extra, a missing or a wrong letter, or two neighbours swapped: the optimal string alignment
  distance), and the keyword as a whole by at most one typo when it has 5 to 8 characters, two
  from 9 characters (spaces between its words count), none below 5;
* with ``typos``, two neighbouring words of a keyword written as one (``glutenfree`` for
  ``gluten free``) or one word written as two (``gluten free`` for ``glutenfree``) count as one
  typo.

Word forms come from :mod:`responder.engine.word_forms`, typos from the deletion index of
:mod:`responder.engine.typo_index`. What a message word can stand for is remembered (up to
:data:`MEMO_SIZE` words), as customers use the same words again and again.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise, product
from typing import Any, NamedTuple

import ahocorasick

from responder.engine.matching import Keyword
from responder.engine.typo_index import TypoIndex, typo_allowance, word_allowance
from responder.engine.word_forms import WordForms

__all__ = ["ForgivenMatch", "ForgivingIndex"]

MEMO_SIZE = 65_536
_MAX_JOINED_WORDS = 4  # a keyword of more words is only joined two neighbours at a time

_EXACT, _FORM, _TYPO, _JOINED, _SPLIT = range(5)
_FAR = 99  # "not within typo reach"


@dataclass(frozen=True, slots=True)
class ForgivenMatch:
    """How a keyword was found without being written exactly: ``written`` is what the message
    said (normalised), ``how`` the kind of difference that was forgiven."""

    keyword: str  # as its author wrote it
    written: str
    how: str  # "form", "typo", "joined" (written together) or "split" (written apart)

    def explain(self) -> str:
        """One phrase for ``try``: "matched 'celiacs' as a form of 'celiac'"."""
        if self.how == "form":
            return f"matched '{self.written}' as a form of '{self.keyword}'"
        if self.how == "joined":
            return f"matched '{self.written}' as '{self.keyword}' written together"
        if self.how == "split":
            return f"matched '{self.written}' as '{self.keyword}' written apart"
        return f"matched '{self.written}' with a typo of '{self.keyword}'"


class _Pattern(NamedTuple):
    """One way of writing a keyword, as vocabulary ids, and what it may forgive (a tuple, so
    that the garbage collector stops visiting the many of a large book)."""

    key_id: int
    keyword: str
    tokens: tuple[int, ...]
    forms: bool
    typos: bool
    budget: int  # typos the keyword may carry in all
    joins: int  # typos already spent by joining neighbouring words of the keyword


# What a message word can stand for: (vocabulary id, is a form of it, typos to it).
_Alt = tuple[int, bool, int]
# What is remembered of a message word: its alternatives, and whether it may be the first
# half of a keyword word written apart.
_Info = tuple[tuple[_Alt, ...], bool]


class ForgivingIndex:
    """The forgiving keywords of a rule book, ready to be looked up word by word."""

    def __init__(
        self, entries: Iterable[tuple[int, Keyword, bool, bool]], languages: Sequence[str] = ()
    ) -> None:
        """``entries``: (id, keyword, word_forms, typos), ids as in the exact keyword index.

        Keywords that forgive nothing, ``word*`` keywords and spaceless ones are left out.
        ``languages`` are the book's language codes (English when empty); a language without
        a stemmer adds no word forms.
        """
        self._vocab: dict[str, int] = {}
        self._by_first: dict[int, tuple[_Pattern, ...]] = {}
        self._joined_variants: dict[tuple[int, ...], tuple[_Pattern, ...]] = {}
        self._forms = WordForms(languages)
        self._typos = TypoIndex()
        # The keyword words that may be written apart, as a trie: is a word the start of one?
        self._halves: Any = ahocorasick.Automaton(ahocorasick.STORE_LENGTH)
        self._memo: dict[str, _Info] = {}
        self._size = 0
        for key_id, keyword, forms, typos in entries:
            if (forms or typos) and not keyword.prefix and not keyword.spaceless:
                self._add(key_id, keyword, forms, typos)
        self._typos.build()

    def __len__(self) -> int:
        """How many keywords forgive something."""
        return self._size

    # -- building --------------------------------------------------------------------------

    def _add(
        self,
        key_id: int,
        keyword: Keyword,
        forms: bool,
        typos: bool,
    ) -> None:
        self._size += 1
        words = keyword.normalized.split(" ")
        budget = typo_allowance(keyword.normalized) if typos else 0
        for variant, joins in _variants(words, budget):
            tokens = tuple(self._word(w, forms, budget - joins) for w in variant)
            pattern = _Pattern(key_id, keyword.source, tokens, forms, typos, budget, joins)
            self._by_first[tokens[0]] = (*self._by_first.get(tokens[0], ()), pattern)
            if joins:
                self._joined_variants[tokens] = (*self._joined_variants.get(tokens, ()), pattern)
            elif typos and budget:
                for word in variant:
                    if len(word) >= 2 and word.isalnum():
                        self._halves.add_word(word, len(word))

    def _word(self, word: str, forms: bool, typos_left: int) -> int:
        """The vocabulary id of a keyword word, indexed for what it may forgive."""
        word_id = self._vocab.setdefault(word, len(self._vocab))
        if forms:
            self._forms.add(word_id, word)
        if typos_left:
            self._typos.add(word_id, word, min(word_allowance(word), typos_left))
        return word_id

    # -- searching -------------------------------------------------------------------------

    def search(self, normalized_text: str, skip: Container[int] = ()) -> dict[int, ForgivenMatch]:
        """Forgiving keywords present in text already passed through ``normalize``.

        ``skip`` holds ids already found exactly (they are not looked for again). A keyword
        whose every word was written exactly is never reported here.
        """
        found: dict[int, ForgivenMatch] = {}
        if not self._by_first or not normalized_text:
            return found
        words = normalized_text.split(" ")
        infos = self._infos(words)
        by_first = self._by_first
        for start, (here, half) in enumerate(infos):
            if not here and not half:
                continue  # the usual case: a word that stands for no keyword word
            firsts = [alt[0] for alt in here if alt[0] in by_first]
            if half and (pair := self._pair(words, start)) is not None:
                firsts.append(pair)
            for first in firsts:
                for pattern in by_first.get(first, ()):
                    if pattern.key_id in skip or pattern.key_id in found:
                        continue
                    result = _match(pattern, infos, words, start, self._vocab)
                    if result is not None:
                        end, kinds = result
                        found[pattern.key_id] = ForgivenMatch(
                            pattern.keyword, " ".join(words[start:end]), _how(kinds)
                        )
        return found

    def find_whole(self, normalized_text: str) -> dict[int, ForgivenMatch]:
        """Keywords with ``typos`` that match all of ``normalized_text`` (a keyword) with a
        typo or a compound: what :func:`responder.engine.lint.typo_collisions` warns about."""
        found: dict[int, ForgivenMatch] = {}
        words = normalized_text.split(" ")
        infos = self._infos(words)
        firsts = [alt[0] for alt in infos[0][0]]
        if infos[0][1] and (pair := self._pair(words, 0)) is not None:
            firsts.append(pair)
        for first in firsts:
            for pattern in self._by_first.get(first, ()):
                if not pattern.typos:
                    continue
                result = _match(pattern, infos, words, 0, self._vocab)
                if result is not None and result[0] == len(words) and _TYPO_KINDS & result[1]:
                    found[pattern.key_id] = ForgivenMatch(
                        pattern.keyword, normalized_text, _how(result[1])
                    )
        return found

    def may_collide(self, texts: Iterable[str]) -> list[str]:
        """Of ``texts`` (normalised keywords), those that a keyword with ``typos`` might match
        with a typo or a compound, for :meth:`find_whole` to decide.

        Cheaper than trying every text: two keyword words within typo reach share a deletion
        of the index, so only words that share one are measured.
        """
        near = self._typos.near_words()
        chosen = []
        vocab = self._vocab
        for text in texts:
            split = text.split(" ")
            word_ids = [vocab.get(w) for w in split]
            known = [i for i in word_ids if i is not None]
            if (
                any(i in near for i in known)
                or (len(known) == len(word_ids) and tuple(known) in self._joined_variants)
                or any(a + b in vocab for a, b in pairwise(split))
                or any(self._typo_of_another(w, i) for w, i in zip(split, word_ids, strict=True))
            ):
                chosen.append(text)
        return chosen

    def _typo_of_another(self, word: str, word_id: int | None) -> bool:
        """For a word outside the deletion index: is it a typo of a word inside it?"""
        if word_id is not None and self._typos.allowance(word_id):
            return False  # in the index: its neighbours were measured above
        return any(typos not in (0, _FAR) for _, _, typos in self._work_out(word))

    def _pair(self, words: list[str], position: int) -> int | None:
        """The keyword word that the message words at ``position`` and after it make as one."""
        if position + 1 >= len(words):
            return None
        return self._vocab.get(words[position] + words[position + 1])

    def _infos(self, words: list[str]) -> list[_Info]:
        """What each message word may stand for, remembered once worked out."""
        memo = self._memo
        infos = [memo.get(w) for w in words]
        if None in infos:
            for position, info in enumerate(infos):
                if info is None:
                    word = words[position]
                    info = (self._work_out(word), self._is_half(word))
                    if len(memo) >= MEMO_SIZE:
                        memo.clear()
                    memo[word] = infos[position] = info
        return infos  # type: ignore[return-value]

    def _is_half(self, word: str) -> bool:
        return bool(self._halves.match(word)) if len(self._halves) else False

    def _work_out(self, word: str) -> tuple[_Alt, ...]:
        best: dict[int, list[Any]] = {}
        exact = self._vocab.get(word)
        if exact is not None:
            best[exact] = [False, 0]
        for word_id in self._forms.of(word):
            best.setdefault(word_id, [False, _FAR])[0] = True
        for word_id, typos in self._typos.typos_of(word):
            slot = best.setdefault(word_id, [False, _FAR])
            slot[1] = min(slot[1], typos)
        return tuple((word_id, form, typos) for word_id, (form, typos) in best.items())


_TYPO_KINDS = frozenset({_TYPO, _JOINED, _SPLIT})


def _match(
    pattern: _Pattern,
    infos: list[_Info],
    words: list[str],
    start: int,
    vocab: dict[str, int],
) -> tuple[int, frozenset[int]] | None:
    """Where ``pattern`` ends when it starts at message word ``start``, and the kinds of
    difference forgiven on the way; None when it does not match there."""
    kinds: set[int] = {_JOINED} if pattern.joins else set()
    typos_left = pattern.budget - pattern.joins
    position = start
    for want in pattern.tokens:
        step = _step(pattern, want, infos, words, position, typos_left, vocab)
        if step is None:
            return None
        width, kind, cost = step
        kinds.add(kind)
        typos_left -= cost
        position += width
    if kinds <= {_EXACT}:
        return None
    return position, frozenset(kinds)


def _step(
    pattern: _Pattern,
    want: int,
    infos: list[_Info],
    words: list[str],
    position: int,
    typos_left: int,
    vocab: dict[str, int],
) -> tuple[int, int, int] | None:
    """How the message at ``position`` stands for keyword word ``want``: (words used, kind,
    typos spent), the cheapest way; None when it does not. A typo found for a word is never
    more than the word allows (see :func:`word_allowance`): the index looks no further."""
    if position >= len(infos):
        return None
    alts, half = infos[position]
    for word_id, form, typos in alts:
        if word_id != want:
            continue
        if typos == 0:
            return 1, _EXACT, 0
        if form and pattern.forms:
            return 1, _FORM, 0
        if pattern.typos and typos <= typos_left:
            return 1, _TYPO, typos
    # A word the keyword has joined is not split again: that would be the keyword itself.
    if (
        half
        and pattern.typos
        and not pattern.joins
        and typos_left >= 1
        and position + 1 < len(words)
        and vocab.get(words[position] + words[position + 1]) == want
    ):
        return 2, _SPLIT, 1
    return None


def _how(kinds: frozenset[int]) -> str:
    if _TYPO in kinds:
        return "typo"
    if _JOINED in kinds:
        return "joined"
    if _SPLIT in kinds:
        return "split"
    return "form"


def _variants(words: list[str], budget: int) -> list[tuple[list[str], int]]:
    """The keyword's words, then (with a typo allowance) its neighbours joined, each join
    spending one typo: ``gluten free`` -> ``glutenfree``."""
    variants: list[tuple[list[str], int]] = [(words, 0)]
    if budget == 0 or len(words) < 2:
        return variants
    gaps = len(words) - 1
    if len(words) <= _MAX_JOINED_WORDS:
        masks: Iterable[tuple[bool, ...]] = product((False, True), repeat=gaps)
    else:
        masks = (tuple(i == gap for i in range(gaps)) for gap in range(gaps))
    for mask in masks:
        joins = sum(mask)
        if joins == 0 or joins > budget:
            continue
        merged = [words[0]]
        for word, join in zip(words[1:], mask, strict=True):
            if join:
                merged[-1] += word
            else:
                merged.append(word)
        variants.append((merged, joins))
    return variants
