"""The one normalisation applied to messages and keywords alike."""

from __future__ import annotations

import string

import pytest

from responder.engine.normalize import is_spaceless_char, is_spaceless_script, normalize

THUMBS = "\U0001f44d"
MEDIUM_SKIN = "\U0001f3fd"
VS16 = "\ufe0f"
ZWJ = "\u200d"
MAN = "\U0001f468"
LAPTOP = "\U0001f4bb"
FLAG_BR = "\U0001f1e7\U0001f1f7"
FLAG_US = "\U0001f1fa\U0001f1f8"
FULLWIDTH_PRICE = "\uff30\uff32\uff29\uff23\uff25"  # PRICE in full-width letters
FULLWIDTH_123 = "\uff11\uff12\uff13"
IDEOGRAPHIC_SPACE = "\u3000"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # case
        ("PRICE", "price"),
        ("Opening Hours", "opening hours"),
        ("Straße", "strasse"),
        # accents folded on Latin letters
        ("PREÇO", "preco"),
        ("café", "cafe"),
        ("Crème Brûlée", "creme brulee"),
        ("naïve İstanbul", "naive istanbul"),
        ("Tiếng Việt", "tieng viet"),
        ("ĐÔI ØL łódź", "doi ol lodz"),
        ("Œuvre", "oeuvre"),
        # other scripts keep their marks
        ("йогурт", "йогурт"),
        ("Ѐ", "ѐ"),
        # punctuation and symbols separate words
        ("price?", "price"),
        ("opening-hours", "opening hours"),
        ("what's up", "what s up"),
        ("a/b_c.d", "a b c d"),
        ("20°C $5 + 3€", "20 c 5 3"),
        ("©2024 ACME®", "2024 acme"),
        ("!!!", ""),
        # digits are word characters
        ("order 123", "order 123"),
        ("order#123", "order 123"),
        ("A1B2", "a1b2"),
        # whitespace collapsed and trimmed
        ("  a \t\n b  ", "a b"),
        ("", ""),
        (f"a{IDEOGRAPHIC_SPACE}b\u00a0c", "a b c"),
        # invisible format characters vanish without splitting the word
        ("x\u00ady", "xy"),
        ("x\u200by", "xy"),
        # NFKC: full-width forms and ligatures
        (f"{FULLWIDTH_PRICE} {FULLWIDTH_123}", "price 123"),
        ("\ufb01ne", "fine"),
        ("x\u00b2", "x2"),
        # emoji are tokens; skin tone and variation selectors are ignored
        (f"ok{THUMBS}", f"ok {THUMBS}"),
        (f"ok{THUMBS}{MEDIUM_SKIN}!", f"ok {THUMBS}"),
        (f"{THUMBS}{VS16}{THUMBS}", f"{THUMBS} {THUMBS}"),
        (f"\u2764{VS16}you", "\u2764 you"),
        (f"\U0001f3f3{VS16}{ZWJ}\U0001f308", f"\U0001f3f3{ZWJ}\U0001f308"),
        # a joiner between two emoji keeps one token; anywhere else it is dropped
        (f"{MAN}{ZWJ}{LAPTOP} dev", f"{MAN}{ZWJ}{LAPTOP} dev"),
        (f"{MAN}{MEDIUM_SKIN}{ZWJ}{LAPTOP}", f"{MAN}{ZWJ}{LAPTOP}"),
        (f"{MAN}{ZWJ} {LAPTOP}", f"{MAN} {LAPTOP}"),
        (f"a{ZWJ}b", "ab"),
        # regional indicators pair into flags
        (f"{FLAG_BR}{FLAG_US}x", f"{FLAG_BR} {FLAG_US} x"),
        # scripts without spaces stay whole, apart from neighbouring words of other scripts
        ("请问价格是多少", "请问价格是多少"),
        ("iPhone价格", "iphone 价格"),
        ("买3个", "买 3 个"),
        ("ราคาเท่าไหร่ครับ", "ราคาเท่าไหร่ครับ"),
        ("ｶﾀｶﾅ", "カタカナ"),
        # Korean is written with spaces and is left as it is
        ("한국어 가격", "한국어 가격"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Hello, World!",
        "PREÇO do café?",
        f"ok{THUMBS}{MEDIUM_SKIN} {MAN}{ZWJ}{LAPTOP}{FLAG_BR}",
        "iPhone价格 ราคา",
        f"{FULLWIDTH_PRICE}!!",
    ],
)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@pytest.mark.parametrize(
    "text",
    [
        string.printable,
        "Hi there, what's the PRICE of item #42?",
        "opening-hours: 9..17",
        "\x00\x01tab\there\x7f",
    ],
)
def test_ascii_and_unicode_paths_agree(text: str) -> None:
    # Appending an emoji forces the general path; the words before it must come out the same.
    assert normalize(text + THUMBS) == f"{normalize(text)} {THUMBS}".strip()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请问价格", True),
        ("price 价格", True),
        ("カタカナ", True),
        ("ひらがな", True),
        ("ราคา", True),
        ("ລາຄາ", True),
        ("តម្លៃ", True),
        ("စျေးနှုန်း", True),
        ("price", False),
        ("한국어", False),
        ("цена", False),
        ("", False),
    ],
)
def test_is_spaceless_script(text: str, expected: bool) -> None:
    assert is_spaceless_script(text) is expected


def test_is_spaceless_char_looks_at_one_character() -> None:
    assert is_spaceless_char("价")
    assert not is_spaceless_char("a")
    assert not is_spaceless_char("价格")
