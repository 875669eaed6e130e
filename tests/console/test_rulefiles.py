"""Saving from the console keeps the rule files' comments and order; changes said in words."""

from __future__ import annotations

import difflib
from pathlib import Path

from responder.console import rulefiles, ruleform
from responder.engine.book_diff import describe_changes
from tests.harness import ROOT


def changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_a_form_save_changes_only_the_lines_it_changed(tmp_path: Path) -> None:
    before = (ROOT / "rules" / "faq.yaml").read_text()
    (tmp_path / "faq.yaml").write_text(before)
    document = rulefiles.load(tmp_path, "faq.yaml")
    rule = rulefiles.rule_at(document, 3)  # pricing
    form = ruleform.values(rule)
    form["keywords"] += "\nquote"
    ruleform.apply(rule, form)
    after = rulefiles.dump(document)
    assert changed_lines(before, after) == [
        "-    keywords: [price, pricing, how much, cost*, preço, harga, berapa]",
        "+    keywords: [price, pricing, how much, cost*, preço, harga, berapa, quote]",
    ]


def test_a_new_key_goes_where_the_guide_puts_it(tmp_path: Path) -> None:
    (tmp_path / "faq.yaml").write_text((ROOT / "rules" / "faq.yaml").read_text())
    document = rulefiles.load(tmp_path, "faq.yaml")
    rule = rulefiles.rule_at(document, 4)  # location
    form = ruleform.values(rule)
    form["cooldown"] = "2h"
    ruleform.apply(rule, form)
    assert list(rule) == ["name", "keywords", "reply", "cooldown", "examples"]


def test_moving_and_switching_rules(tmp_path: Path) -> None:
    (tmp_path / "faq.yaml").write_text((ROOT / "rules" / "faq.yaml").read_text())
    assert rulefiles.move(tmp_path, "faq.yaml", 1, up=True) == ("faq.yaml", 0)
    rulefiles.switch(tmp_path, "faq.yaml", 0, on=False)
    found, broken = rulefiles.entries(tmp_path)
    assert not broken
    assert [e.name for e in found][:2] == ["order-status", "human-please"]
    assert not found[0].enabled
    text = (tmp_path / "faq.yaml").read_text()
    assert text.startswith('# Rules of "Kopi Kita"')


def test_the_changes_between_two_books_in_words() -> None:
    old = {
        "rules/faq.yaml": (ROOT / "rules" / "faq.yaml").read_text(),
        "templates/location.j2": "We are at 12 Jalan Bukit Bintang.",
    }
    new_text = (
        old["rules/faq.yaml"]
        .replace("RM39", "RM42")
        .replace(
            "  - name: location",
            '  - name: gluten free\n    keywords: [gluten]\n    text: "Yes!"\n\n  - name: location',
        )
    )
    new = {"rules/faq.yaml": new_text, "templates/location.j2": "We moved to Jalan Ampang."}
    assert describe_changes(old, new) == [
        "adds the rule 'gluten free'",
        "changes the reply of 'pricing'",
        "changes the reply of 'location'",
    ]
    assert describe_changes(old, old) == []


def test_the_forgiving_switches_follow_the_settings_unless_the_form_says_yes_or_no(
    tmp_path: Path,
) -> None:
    (tmp_path / "faq.yaml").write_text((ROOT / "rules" / "faq.yaml").read_text())
    document = rulefiles.load(tmp_path, "faq.yaml")
    rule = rulefiles.rule_at(document, 4)  # location
    form = ruleform.values(rule)
    assert (form["word_forms"], form["typos"]) == ("", "")
    form["word_forms"], form["typos"] = "yes", "no"
    ruleform.apply(rule, form)
    assert (rule["word_forms"], rule["typos"]) == (True, False)
    assert list(rule)[:4] == ["name", "keywords", "word_forms", "typos"]
    assert ruleform.values(rule)["word_forms"] == "yes"
    form["word_forms"] = form["typos"] = ""
    ruleform.apply(rule, form)
    assert "word_forms" not in rule and "typos" not in rule
