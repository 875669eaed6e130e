"""Which keyword words a message word is a typo of, without trying every keyword word.

A typo is an extra, a missing or a wrong letter, or two neighbours swapped: the optimal string
alignment distance, measured by rapidfuzz. A keyword word of 4 to 8 letters may carry one, a
word of 9 or more two (:func:`word_allowance`), and a whole keyword one from 5 characters, two
from 9 (:func:`typo_allowance`).

The index is a deletion index (the symmetric-delete idea of SymSpell): every keyword word is
stored under each string obtained by deleting up to its allowance of letters from its first
:data:`PREFIX` letters, and a message word looks up its own deletions. Two words within the
distance always share one, so only the words found that way are measured. Words that share
their first letters and allowance form one group and are stored once per deletion.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz.distance import OSA

__all__ = ["PREFIX", "TypoIndex", "typo_allowance", "word_allowance"]

PREFIX = 7  # letters of a word that the deletion index looks at (SymSpell's prefix length)


def word_allowance(word: str) -> int:
    """Typos one keyword word may carry: 0 up to 3 letters, 1 up to 8, then 2."""
    return 0 if len(word) <= 3 else 1 if len(word) <= 8 else 2


def typo_allowance(normalized: str) -> int:
    """Typos a whole keyword may carry: 0 below 5 characters, 1 up to 8, then 2."""
    return 0 if len(normalized) < 5 else 1 if len(normalized) <= 8 else 2


class TypoIndex:
    """Keyword words by id, each with the typos it may carry; :meth:`build` once all are in."""

    def __init__(self) -> None:
        self._words: dict[int, str] = {}
        self._allowance: dict[int, int] = {}
        self._groups: list[tuple[int, ...]] = []
        self._group_of: dict[tuple[str, int], int] = {}
        # Deletion -> its group, or the groups that share it (tuples and bare numbers rather
        # than lists: the garbage collector stops visiting them).
        self._deletions: dict[str, int | tuple[int, ...]] = {}
        self.reach = 0  # the most typos any word may carry

    def allowance(self, word_id: int) -> int:
        return self._allowance.get(word_id, 0)

    def add(self, word_id: int, word: str, allowance: int) -> None:
        """Let ``word`` carry up to ``allowance`` typos (kept when it was given more before)."""
        if allowance <= self._allowance.get(word_id, 0):
            return
        self._words[word_id] = word
        self._allowance[word_id] = allowance
        self.reach = max(self.reach, allowance)
        key = (word[:PREFIX], allowance)
        group = self._group_of.get(key)
        if group is None:
            self._group_of[key] = len(self._groups)
            self._groups.append((word_id,))
        else:
            self._groups[group] = (*self._groups[group], word_id)

    def build(self) -> None:
        """Store every group under each of its deletions."""
        index: dict[str, int | tuple[int, ...]] = {}
        for (prefix, allowance), group in self._group_of.items():
            for text in deletions(prefix, allowance):
                there = index.setdefault(text, group)
                if there != group:
                    index[text] = (there, group) if isinstance(there, int) else (*there, group)
        self._deletions = index

    def typos_of(self, word: str) -> list[tuple[int, int]]:
        """(keyword word id, typos) for each keyword word that ``word`` is a typo of, within
        that word's allowance; the word itself (0 typos) is left out."""
        if not self.reach or len(word) < 3:
            return []
        reach = min(self.reach, 2 if len(word) >= 7 else 1)
        groups: set[int] = set()
        index = self._deletions
        for deleted in deletions(word[:PREFIX], reach):
            there = index.get(deleted)
            if there is None:
                continue
            if isinstance(there, int):
                groups.add(there)
            else:
                groups.update(there)
        found = []
        for word_id in {w for g in groups for w in self._groups[g]}:
            allowance = self._allowance[word_id]
            other = self._words[word_id]
            if abs(len(other) - len(word)) > allowance:
                continue
            typos = OSA.distance(word, other, score_cutoff=allowance)
            if 0 < typos <= allowance:
                found.append((word_id, typos))
        return found

    def near_words(self) -> set[int]:
        """Ids of the keyword words that are within typo reach of another keyword word.

        Only words that share a deletion are measured: the words of one group, and the
        groups that share a deletion.
        """
        near: set[int] = set()
        measured: set[tuple[int, int]] = set()
        words, allowance, groups = self._words, self._allowance, self._groups

        def measure(ids: Sequence[int]) -> None:
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    pair = (a, b) if a < b else (b, a)
                    if a == b or pair in measured:
                        continue
                    measured.add(pair)
                    reach = max(allowance[a], allowance[b])
                    if abs(len(words[a]) - len(words[b])) > reach:
                        continue
                    if OSA.distance(words[a], words[b], score_cutoff=reach) <= reach:
                        near.update(pair)

        for members in groups:
            if len(members) > 1:
                measure(members)
        for there in self._deletions.values():
            if isinstance(there, tuple):
                measure([w for g in there for w in groups[g]])
        return near


def deletions(text: str, reach: int) -> set[str]:
    """``text`` and every string made from it by deleting up to ``reach`` (1 or 2) letters."""
    n = len(text)
    found = {text[:i] + text[i + 1 :] for i in range(n)}
    found.add(text)
    if reach >= 2:
        found.update(
            text[:i] + text[i + 1 : j] + text[j + 1 :] for i in range(n) for j in range(i + 1, n)
        )
    return found
