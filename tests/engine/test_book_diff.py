"""The changes between two rule books, in the words shown before publishing."""

from __future__ import annotations

import pytest

from responder.engine.book_diff import TRIGGER_KEYS, describe_changes
from responder.engine.validation import RULE_KEYS

BEFORE = {"rules/faq.yaml": "rules:\n  - name: hours\n"}


def with_key(key: str) -> dict[str, str]:
    return {"rules/faq.yaml": f"rules:\n  - name: hours\n    {key}: false\n"}


@pytest.mark.parametrize("key", [k for k in RULE_KEYS if k != "name"])
def test_a_change_to_any_key_a_rule_may_have_is_told(key: str) -> None:
    said = describe_changes(BEFORE, with_key(key))
    assert said and all("'hours'" in sentence for sentence in said)


@pytest.mark.parametrize("key", TRIGGER_KEYS)
def test_a_change_to_what_a_rule_answers_is_told_as_such(key: str) -> None:
    assert describe_changes(BEFORE, with_key(key)) == ["changes when 'hours' answers"]


def test_a_change_to_the_gathering_time_is_told_in_words() -> None:
    after = {"rules/faq.yaml": "rules:\n  - name: hours\n    gather: 4s\n"}
    assert describe_changes(BEFORE, after) == [
        "changes how long 'hours' waits for more messages before answering"
    ]
