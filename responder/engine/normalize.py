"""The one text normalisation shared by messages and keywords.

Rule authors are promised a single, visible rule for how text is compared:

* Unicode NFKC (full-width letters and digits read as ASCII, ligatures are split), then case-fold;
* accents are folded on Latin letters only (``PREÇO`` -> ``preco``, ``café`` -> ``cafe``), so
  letters of other scripts (Cyrillic ``й``, Thai vowel signs, ...) keep their marks;
* emoji are tokens of their own (``ok👍`` -> ``ok 👍``); skin tones and variation selectors are
  dropped, so ``👍🏽`` reads as ``👍``; emoji joined with a zero-width joiner (``👨‍💻``) and
  flag pairs (``🇧🇷``) stay one token;
* letters, marks and digits make words; every other character (punctuation, symbols other than
  emoji, controls, whitespace) separates words; invisible format characters (soft hyphen,
  zero-width space, direction marks) are removed;
* a run of a script written without spaces (Chinese, Japanese, Thai, ...) is kept apart from
  neighbouring words of other scripts (``iPhone价格`` -> ``iphone 价格``);
* the result is the words joined by single spaces, with no space at either end.

:func:`normalize` never raises for any ``str``.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right

__all__ = ["is_spaceless_char", "is_spaceless_script", "normalize"]

# Bytes 0-127: ASCII letters are lower-cased, digits kept, everything else becomes a space.
_ASCII_TABLE = bytes(
    (c + 32 if 65 <= c <= 90 else c) if chr(c).isalnum() else 32 for c in range(256)
)

# Scripts whose words are not separated by spaces: Han, kana, Thai, Lao, Tibetan, Myanmar, Khmer,
# Tai scripts, Yi, Javanese, Balinese. Korean Hangul is written with spaces and is not here.
_SPACELESS_RANGES = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u0f00-\u0fff"  # Tibetan
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff\u19e0-\u19ff"  # Khmer
    "\u1950-\u19df"  # Tai Le, New Tai Lue
    "\u1a20-\u1aaf"  # Tai Tham
    "\u1b00-\u1b7f"  # Balinese
    "\u2e80-\u2fdf"  # CJK radicals
    "\u3005-\u3007\u3021-\u3029\u3038-\u303b"  # ideographic iteration marks and numerals
    "\u3041-\u309f\u30a0-\u30ff\u31f0-\u31ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff"  # CJK ideographs
    "\ua000-\ua4cf"  # Yi
    "\ua980-\ua9df"  # Javanese
    "\ua9e0-\ua9ff\uaa60-\uaa7f"  # Myanmar extensions
    "\uaa80-\uaadf"  # Tai Viet
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\uff66-\uff9f"  # half-width Katakana
    "\U00020000-\U0003134f"  # CJK ideographs, supplementary planes
)
_SPACELESS = re.compile(f"[{_SPACELESS_RANGES}]")
_SCRIPT_BOUNDARY = re.compile(
    f"(?<=[{_SPACELESS_RANGES}])(?=[^\\s{_SPACELESS_RANGES}])"
    f"|(?<=[^\\s{_SPACELESS_RANGES}])(?=[{_SPACELESS_RANGES}])"
)

# Combining marks that follow a Latin letter (after canonical decomposition) are accents to fold.
_LATIN_ACCENTS = re.compile(
    "(?<=[a-z\u00c0-\u024f\u0250-\u02af\u1d00-\u1dbf\u1e00-\u1eff\u2c60-\u2c7f"
    "\ua720-\ua7ff\uab30-\uab6f])"
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\ufe20-\ufe2f]+"
)

# Latin letters that carry an "accent" without decomposing into letter + mark.
_LATIN_LETTER_FOLDS = {
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ħ": "h",
    "ŧ": "t",
    "\u0131": "i",  # dotless i
    "æ": "ae",
    "œ": "oe",
}

_ZWJ = "\u200d"
# Emoji are wrapped in these two control characters while the text is assembled, so that a
# joiner directly between two emoji can be told apart from a stray one; controls never survive
# the character table (they become spaces), so the markers cannot clash with the input.
_EMOJI_OPEN = "\x02"
_EMOJI_CLOSE = "\x03"

_REGIONAL_INDICATOR_PAIRS = re.compile("[\U0001f1e6-\U0001f1ff]{1,2}")
_HAS_REGIONAL_INDICATOR = re.compile("[\U0001f1e6-\U0001f1ff]")

# Characters dropped without a trace: variation selectors, skin-tone modifiers, the keycap
# enclosure and tag characters (they only decorate the emoji before them).
_IGNORED_RANGES = (
    (0xFE00, 0xFE0F),
    (0x1F3FB, 0x1F3FF),
    (0x20E3, 0x20E3),
    (0xE0000, 0xE007F),
    (0xE0100, 0xE01EF),
)

# Extended_Pictographic code points that are still present after NFKC, as sorted inclusive
# ranges. Unassigned code points in the emoji blocks count too, so emoji newer than this
# Python's Unicode database still become tokens.
_EMOJI_RANGES = (
    (0x2194, 0x2199),
    (0x21A9, 0x21AA),
    (0x231A, 0x231B),
    (0x2328, 0x2328),
    (0x2388, 0x2388),
    (0x23CF, 0x23CF),
    (0x23E9, 0x23F3),
    (0x23F8, 0x23FA),
    (0x25AA, 0x25AB),
    (0x25B6, 0x25B6),
    (0x25C0, 0x25C0),
    (0x25FB, 0x25FE),
    (0x2600, 0x2605),
    (0x2607, 0x2612),
    (0x2614, 0x2685),
    (0x2690, 0x2705),
    (0x2708, 0x2712),
    (0x2714, 0x2714),
    (0x2716, 0x2716),
    (0x271D, 0x271D),
    (0x2721, 0x2721),
    (0x2728, 0x2728),
    (0x2733, 0x2734),
    (0x2744, 0x2744),
    (0x2747, 0x2747),
    (0x274C, 0x274C),
    (0x274E, 0x274E),
    (0x2753, 0x2755),
    (0x2757, 0x2757),
    (0x2763, 0x2767),
    (0x2795, 0x2797),
    (0x27A1, 0x27A1),
    (0x27B0, 0x27B0),
    (0x27BF, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B07),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x1F000, 0x1F0FF),
    (0x1F10D, 0x1F10F),
    (0x1F12F, 0x1F12F),
    (0x1F16C, 0x1F171),
    (0x1F17E, 0x1F17F),
    (0x1F18E, 0x1F18E),
    (0x1F191, 0x1F19A),
    (0x1F1AD, 0x1F1E5),
    (0x1F201, 0x1F20F),
    (0x1F21A, 0x1F21A),
    (0x1F22F, 0x1F22F),
    (0x1F232, 0x1F23A),
    (0x1F23C, 0x1F23F),
    (0x1F249, 0x1F3FA),
    (0x1F400, 0x1F53D),
    (0x1F546, 0x1F64F),
    (0x1F680, 0x1F6FF),
    (0x1F774, 0x1F77F),
    (0x1F7D5, 0x1F7FF),
    (0x1F80C, 0x1F80F),
    (0x1F848, 0x1F84F),
    (0x1F85A, 0x1F85F),
    (0x1F888, 0x1F88F),
    (0x1F8AE, 0x1F8FF),
    (0x1F90C, 0x1F93A),
    (0x1F93C, 0x1F945),
    (0x1F947, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
)
_EMOJI_STARTS = tuple(start for start, _ in _EMOJI_RANGES)


def _in_ranges(cp: int, starts: tuple[int, ...], ranges: tuple[tuple[int, int], ...]) -> bool:
    i = bisect_right(starts, cp) - 1
    return i >= 0 and cp <= ranges[i][1]


def _is_emoji(ch: str) -> bool:
    return _in_ranges(ord(ch), _EMOJI_STARTS, _EMOJI_RANGES)


def _is_ignored(ch: str) -> bool:
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _IGNORED_RANGES)


def _classify(ch: str) -> str:
    """What one character becomes in the normalised text (before spaces are collapsed)."""
    if ch == _ZWJ:
        return ch
    if _is_ignored(ch):
        return ""
    if "\U0001f1e6" <= ch <= "\U0001f1ff":
        return ch  # regional indicators are paired into flags afterwards
    if _is_emoji(ch):
        return _EMOJI_OPEN + ch + _EMOJI_CLOSE
    if ch in _LATIN_LETTER_FOLDS:
        return _LATIN_LETTER_FOLDS[ch]
    category = unicodedata.category(ch)
    if category[0] in "LMN":
        return ch
    if category == "Cf":
        return ""
    return " "


class _CharTable(dict[int, str]):
    """``str.translate`` table filled on first sight of each code point."""

    def __missing__(self, cp: int) -> str:
        value = _classify(chr(cp))
        self[cp] = value
        return value


_TABLE = _CharTable()


def _normalize_ascii(text: str) -> str:
    # One C-level pass maps case and separators; split() collapses the whitespace.
    return " ".join(text.encode("ascii").translate(_ASCII_TABLE).decode("ascii").split())


def _assemble_emoji(text: str) -> str:
    if _EMOJI_OPEN in text:
        # A joiner directly between two emoji glues them into one token; any other is dropped.
        text = text.replace(_EMOJI_CLOSE + _ZWJ + _EMOJI_OPEN, "\x01")
        text = text.replace(_ZWJ, "").replace("\x01", _ZWJ)
        return text.replace(_EMOJI_OPEN, " ").replace(_EMOJI_CLOSE, " ")
    return text.replace(_ZWJ, "")


def normalize(text: str) -> str:
    """The one normalisation; result is space-separated tokens, no leading/trailing space.

    See the module docstring for the exact rule. Never raises for a ``str``.
    """
    if text.isascii():
        return _normalize_ascii(text)
    folded = unicodedata.normalize("NFKD", text).casefold()
    folded = _LATIN_ACCENTS.sub("", folded)
    if folded.isascii():
        return _normalize_ascii(folded)
    folded = unicodedata.normalize("NFC", folded).translate(_TABLE)
    if _ZWJ in folded or _EMOJI_OPEN in folded:
        folded = _assemble_emoji(folded)
    if _HAS_REGIONAL_INDICATOR.search(folded):
        folded = _REGIONAL_INDICATOR_PAIRS.sub(lambda m: f" {m.group()} ", folded)
    if _SPACELESS.search(folded):
        folded = _SCRIPT_BOUNDARY.sub(" ", folded)
    return " ".join(folded.split())


def is_spaceless_char(ch: str) -> bool:
    """True for one character of a script written without spaces between words."""
    return _SPACELESS.fullmatch(ch) is not None


def is_spaceless_script(text: str) -> bool:
    """True when ``text`` contains a character of a script written without spaces between words
    (Han, Hiragana, Katakana, Thai, Lao, Tibetan, Myanmar, Khmer, Tai scripts, Yi, Javanese,
    Balinese). Korean is written with spaces and does not count."""
    return _SPACELESS.search(text) is not None
