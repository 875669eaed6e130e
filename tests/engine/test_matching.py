"""Keyword and regular-expression matching for the rules engine."""

from __future__ import annotations

import pytest

from responder.engine.matching import (
    Keyword,
    KeywordIndex,
    RegexSet,
    check_regex,
    keyword_covers,
    parse_keyword,
)
from responder.engine.normalize import normalize

THUMBS = "\U0001f44d"
DARK_SKIN = "\U0001f3ff"
VS16 = "\ufe0f"
FULLWIDTH_PRICE = "\uff30\uff32\uff29\uff23\uff25"


def matches(keyword: str, text: str) -> bool:
    index = KeywordIndex([(1, parse_keyword(keyword))])
    return index.search(normalize(text)) == {1}


@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        # case and accents
        ("price", "What is the PRICE?"),
        ("preco", "Qual o PREÇO?"),
        ("PREÇO", "qual o preco"),
        ("café", "um cafe por favor"),
        ("cafe", "Un CAFÉ!"),
        # punctuation separates words
        ("price", "price?"),
        ("price", "(price)"),
        ("opening hours", "your opening-hours please"),
        ("opening-hours", "what are the opening hours"),
        ("order 123", "Order #123 is late"),
        # multi-word keywords, consecutive words
        ("how much", "Hi, how much is it?"),
        ("how much", "HOW   MUCH\n"),
        # whole words
        ("hi", "hi there"),
        ("hi", "Oh, hi!"),
        # prefix
        ("cost*", "what does it cost"),
        ("cost*", "costs?"),
        ("cost*", "that's costly"),
        ("opening hour*", "opening hours"),
        # emoji, with skin tone and variation selector on either side
        (THUMBS, f"ok{THUMBS}"),
        (THUMBS, f"great {THUMBS}{DARK_SKIN}"),
        (f"{THUMBS}{DARK_SKIN}", f"{THUMBS}{VS16}"),
        (f"\u2764{VS16}", "love it \u2764"),
        # scripts without spaces match as substrings
        ("价格", "请问价格是多少"),
        ("价格", "iPhone价格"),
        ("iphone", "iPhone价格"),
        ("ราคา", "สินค้านี้ราคาเท่าไหร่ครับ"),
        ("カタカナ", "ｶﾀｶﾅです"),
        # full-width through NFKC
        ("price", f"{FULLWIDTH_PRICE}?"),
        (FULLWIDTH_PRICE, "price"),
    ],
)
def test_keyword_matches(keyword: str, text: str) -> None:
    assert matches(keyword, text)


@pytest.mark.parametrize(
    ("keyword", "text"),
    [
        ("hi", "this"),
        ("hi", "his"),
        ("hi", "high"),
        ("price", "prices"),
        ("price", "overprice"),
        ("how much", "how very much"),
        ("how much", "much how"),
        ("opening hours", "opening times, hours"),
        ("cost*", "the price"),
        ("cost*", "accost"),
        ("order 123", "order 1234"),
        ("preço", "preca"),
        (THUMBS, "\U0001f44e"),
        (THUMBS, "thumbs up"),
        ("价格", "价钱"),
        ("3个", "买13个"),
    ],
)
def test_keyword_does_not_match(keyword: str, text: str) -> None:
    assert not matches(keyword, text)


@pytest.mark.parametrize(
    ("raw", "normalized", "prefix", "spaceless"),
    [
        ("Price", "price", False, False),
        ("  opening-hours ", "opening hours", False, False),
        ("cost*", "cost", True, False),
        ("Preço*", "preco", True, False),
        ("价格", "价格", False, True),
        ("iPhone价格", "iphone 价格", False, True),
        (f"{THUMBS}{DARK_SKIN}", THUMBS, False, False),
    ],
)
def test_parse_keyword(raw: str, normalized: str, prefix: bool, spaceless: bool) -> None:
    assert parse_keyword(raw) == Keyword(raw, normalized, prefix, spaceless)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("!!!", "'!!!' has no letters, digits or emoji left to match"),
        ("", "has no letters, digits or emoji left to match"),
        ("   ", "has no letters, digits or emoji left to match"),
        ("*", "has no letters, digits or emoji left to match"),
        ("co*st", "only allowed once, at the very end"),
        ("*cost", "only allowed once, at the very end"),
        ("cost**", "only allowed once, at the very end"),
        ("cost *", "must come straight after a letter, digit or emoji"),
        ("cost?*", "must come straight after a letter, digit or emoji"),
    ],
)
def test_parse_keyword_refuses_with_a_sentence(raw: str, fragment: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_keyword(raw)
    assert fragment in str(caught.value)


def test_index_reports_every_keyword_present_by_id() -> None:
    index = KeywordIndex(
        [
            (10, parse_keyword("price")),
            (11, parse_keyword("price list")),
            (12, parse_keyword("PRICE")),  # same keyword under another id
            (13, parse_keyword("cost*")),
            (14, parse_keyword("hi")),
            (15, parse_keyword(THUMBS)),
            (16, parse_keyword("价格")),
        ]
    )
    assert len(index) == 7
    assert index.search(normalize("Send the price-list, costs too 👍🏽")) == {10, 11, 12, 13, 15}
    assert index.search(normalize("this is 价格")) == {16}
    assert index.search(normalize("nothing here")) == set()
    assert index.search("") == set()


def test_index_finds_its_keywords_among_many() -> None:
    entries = [(i, parse_keyword(f"word{i}")) for i in range(20_000)]
    entries.append((-1, parse_keyword("opening hours")))
    index = KeywordIndex(entries)
    assert len(index) == 20_001
    text = normalize("Word17? and the opening hours, word19999 but not word200000")
    assert index.search(text) == {17, 19_999, -1}


def test_empty_index_finds_nothing() -> None:
    index = KeywordIndex([])
    assert len(index) == 0
    assert index.search("price") == set()


def test_index_refuses_a_repeated_id() -> None:
    with pytest.raises(ValueError, match="used twice"):
        KeywordIndex([(1, parse_keyword("a")), (1, parse_keyword("b"))])


@pytest.mark.parametrize(
    ("general", "specific", "expected"),
    [
        ("price", "price list", True),
        ("price", "the price", True),
        ("price", "the price list", True),
        ("price", "Price?", True),
        ("preco", "PREÇO", True),
        ("cost*", "costs", True),
        ("cost*", "cost", True),
        ("cost*", "the costs", True),
        ("cost*", "costly*", True),
        ("cost*", "cost*", True),
        ("价格", "请问价格", True),
        ("价格", "价格 list", True),
        ("price", "prices", False),
        ("price list", "price", False),
        ("cost", "cost*", False),
        ("costs*", "cost*", False),
        ("hi", "this", False),
        ("请问价格", "价格", False),
        (THUMBS, f"ok {THUMBS}", True),
    ],
)
def test_keyword_covers(general: str, specific: str, expected: bool) -> None:
    assert keyword_covers(parse_keyword(general), parse_keyword(specific)) is expected


@pytest.mark.parametrize(
    "pattern",
    [
        r"order\s*#?(?P<number>\d+)",
        r"(?i)price",
        r"^hi\b",
        r"[a-z]+@[a-z]+\.[a-z]{2,}",
        r"\p{Han}+",
        r"(?P<a>x)|(?P<b>y)",
    ],
)
def test_check_regex_accepts_re2_syntax(pattern: str) -> None:
    assert check_regex(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "fragments"),
    [
        (r"(a)\1", ["backreferences such as \\1 are not supported", "invalid escape sequence"]),
        (r"(?P<x>a)\k<x>", ["named backreferences"]),
        (r"price(?=s)", ["look-ahead (?=...) is not supported"]),
        (r"price(?!s)", ["look-ahead (?!...) is not supported"]),
        (r"(?<=the )price", ["look-behind (?<=...) is not supported"]),
        (r"(?<!no )price", ["look-behind (?<!...) is not supported"]),
        (r"(?>a+)", ["atomic groups"]),
        (r"[a-z", ["a [ is never closed", "missing ]"]),
        (r"(abc", ["a ( is never closed", "missing )"]),
        (r"abc)", ["a ) has no matching ("]),
        (r"*price", ["has nothing before it to repeat"]),
        (r"a++", ["cannot itself be repeated"]),
        (r"a{1001}", ["at or below 1000"]),
        (r"[z-a]", ["runs backwards"]),
        ("abc\\", ["lone backslash"]),
        (r"(?i", ["is not valid RE2 syntax"]),
    ],
)
def test_check_regex_refuses_with_one_sentence(pattern: str, fragments: list[str]) -> None:
    message = check_regex(pattern)
    assert message is not None
    assert message.startswith(f"The regular expression {pattern!r}")
    assert message.endswith(".")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_regex_set_returns_named_groups_of_matching_patterns() -> None:
    regexes = RegexSet(
        [
            (1, r"order\s*#?(?P<number>\d+)(?:\s+for\s+(?P<who>\w+))?"),
            (2, r"(?P<amount>\d+)\s*(?P<unit>kg|g)\b"),
            (3, r"refund"),
            (4, r"^never"),
        ]
    )
    assert regexes.uses_set
    assert len(regexes) == 4
    found = regexes.search("Where is ORDER #4521? I ordered 3 KG")
    assert found == {
        1: {"number": "4521", "who": ""},
        2: {"amount": "3", "unit": "KG"},
    }
    assert regexes.search("order 7 for Ana, or a Refund") == {
        1: {"number": "7", "who": "Ana"},
        3: {},
    }
    assert regexes.search("nothing to see") == {}


def test_regex_set_is_case_insensitive_beyond_ascii() -> None:
    regexes = RegexSet([(1, r"preço"), (2, r"straße")])
    assert regexes.search("QUAL O PREÇO? STRASSE") == {1: {}}
    assert regexes.search("Qual o Preço") == {1: {}}


def test_regex_set_searches_the_original_text() -> None:
    # Normalisation would drop the '$' and fold the accent; a regex sees them.
    regexes = RegexSet([(1, r"\$(?P<dollars>\d+)"), (2, r"preço"), (3, r"opening-hours")])
    assert regexes.search("Is it $50? preco") == {1: {"dollars": "50"}}
    assert regexes.search("opening hours") == {}
    assert regexes.search("opening-hours") == {3: {}}


def test_regex_set_survives_catastrophic_backtracking_patterns() -> None:
    regexes = RegexSet([(1, r"(a+)+$"), (2, r"(x+x+)+y"), (3, r"(?P<tail>b)$")])
    text = "a" * 50_000 + "b"
    assert regexes.search(text) == {3: {"tail": "b"}}
    assert regexes.search("x" * 50_000) == {}


def test_empty_regex_set_finds_nothing() -> None:
    regexes = RegexSet([])
    assert len(regexes) == 0
    assert not regexes.uses_set
    assert regexes.search("anything") == {}


def test_regex_set_that_does_not_fit_its_memory_tries_each_pattern() -> None:
    entries = [(1, r"order (?P<number>\d+)"), (2, r"PRICE"), (3, r"refund")]
    small = RegexSet(entries, set_max_mem=1)
    assert not small.uses_set
    text = "order 12, price?"
    assert small.search(text) == RegexSet(entries).search(text) == {1: {"number": "12"}, 2: {}}


def test_regex_set_refuses_bad_patterns_and_repeated_ids() -> None:
    with pytest.raises(ValueError, match="look-behind"):
        RegexSet([(1, r"(?<=a)b")])
    with pytest.raises(ValueError, match="used twice"):
        RegexSet([(1, "a"), (1, "b")])
