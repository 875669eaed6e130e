"""The rule form: its fields in plain words, and how they map to a rule's keys.

Each :class:`Field` has the label and the one-line hint the author reads; :func:`values`
fills the form from a rule as written, :func:`apply` writes the form back into it (keys the
form does not show, such as ``tags`` or ``description``, are left as they are).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.comments import CommentedMap

from responder.console.rulefiles import set_key


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    hint: str
    kind: str = "text"  # text, lines, area, check, choice, hours, reply


# A switch the book's settings may also set: the rule follows them, or says yes or no itself.
CHOICES = (("", "As in the settings"), ("yes", "Yes"), ("no", "No"))
SWITCHES = ("word_forms", "typos")


FIELDS = (
    Field(
        "name", "Name", "A short name for this rule, like 'opening hours'. Customers never see it."
    ),
    Field(
        "keywords",
        "Keywords",
        "When a customer writes any of these words or phrases, this rule answers. One per line; "
        "end a word with * to also catch longer forms (cost* catches costs).",
        "lines",
    ),
    Field(
        "all", "All of", "Only answer when the message has every one of these words too.", "lines"
    ),
    Field("exclude", "Except", "Never answer a message with one of these words.", "lines"),
    Field(
        "regex",
        "Pattern",
        "For experts: a text pattern (a regular expression) the message must match, "
        "like order\\s*(?P<order>\\d{5,10}). Leave empty if unsure.",
    ),
    Field(
        "word_forms",
        "Other forms of the words",
        "Also answer other forms of the keywords: 'celiacs' for 'celiac', 'abiertos' for "
        "'abierto'. Words of 3 letters or fewer always match exactly.",
        "choice",
    ),
    Field(
        "typos",
        "Forgive typos",
        "Also answer a keyword with a small typo, like 'opning hours': one in a word of 5 "
        "letters or more, two from 9. A rule that matches exactly always answers first.",
        "choice",
    ),
    Field(
        "hours",
        "Hours",
        "Answer only during, or only outside, these hours: a name from the settings (office) "
        "or days and times like mon-fri 09:00-18:00.",
        "hours",
    ),
    Field(
        "first_message",
        "First message only",
        "Answer only the very first message a customer ever sends.",
        "check",
    ),
    Field(
        "cooldown",
        "Cooldown",
        "Don't reply again to the same customer with this rule for this long, like 6h or 30m. "
        "Empty: the book's default.",
    ),
    Field(
        "pause",
        "Pause after",
        "After this reply, stay quiet with this customer for this long (like 24h), so a person "
        "can take over. Empty: no pause.",
    ),
    Field(
        "reply",
        "Reply",
        "What the customer receives. Write it here, or pick a reply file (one per language). "
        "{{ lead.first_name }} puts in the customer's first name.",
        "reply",
    ),
    Field(
        "examples",
        "Examples",
        "Messages this rule must answer, one per line. They are tried before anything goes live.",
        "lines",
    ),
    Field(
        "counterexamples",
        "Counterexamples",
        "Messages this rule must not answer, one per line.",
        "lines",
    ),
)
FIELD_NAMES = tuple(f.name for f in FIELDS)

# rule key -> the form field that shows it
FIELD_OF_KEY = {
    "name": "name",
    "keywords": "keywords",
    "all": "all",
    "exclude": "exclude",
    "regex": "regex",
    "word_forms": "word_forms",
    "typos": "typos",
    "during": "hours",
    "outside": "hours",
    "first_message": "first_message",
    "cooldown": "cooldown",
    "pause": "pause",
    "reply": "reply",
    "text": "reply",
    "examples": "examples",
    "counterexamples": "counterexamples",
}


def values(rule: Mapping[str, Any]) -> dict[str, str]:
    """The form's values for a rule as written (every value a string)."""
    out = {name: "" for name in FIELD_NAMES}
    for key in ("name", "regex", "cooldown", "pause"):
        if rule.get(key) is not None:
            out[key] = str(rule[key])
    for key in ("keywords", "all", "exclude", "examples", "counterexamples"):
        items = rule.get(key)
        if isinstance(items, list):
            out[key] = "\n".join(str(item) for item in items)
        elif items is not None:
            out[key] = str(items)
    for key in ("during", "outside"):
        if rule.get(key) is not None:
            out["hours_when"], out["hours"] = key, str(rule[key])
    out.setdefault("hours_when", "")
    out["first_message"] = "on" if rule.get("first_message") is True else ""
    for key in SWITCHES:
        out[key] = {True: "yes", False: "no"}.get(rule.get(key), "")  # type: ignore[arg-type]
    if "reply" in rule:
        out["reply_kind"], out["reply_template"] = "template", str(rule["reply"] or "")
    else:
        out["reply_kind"] = "text"
        out["reply"] = str(rule.get("text") or "").rstrip("\n")
    out.setdefault("reply_template", "")
    return out


def lines(text: str) -> list[str]:
    """One item per line; a single line may also list items with commas."""
    parts = text.splitlines()
    if len(parts) == 1:
        parts = parts[0].split(",")
    return [part.strip() for part in parts if part.strip()]


def example_lines(text: str) -> list[str]:
    return [part.strip() for part in text.splitlines() if part.strip()]


def apply(rule: CommentedMap, form: Mapping[str, str]) -> None:
    """Write the form's values into ``rule`` (changing only what the form changed)."""
    set_key(rule, "name", form.get("name", "").strip())
    for key in ("keywords", "all", "exclude"):
        set_key(rule, key, lines(form.get(key, "")))
    set_key(rule, "regex", form.get("regex", "").strip())
    when = form.get("hours_when", "")
    hours = form.get("hours", "").strip()
    for key in ("during", "outside"):
        set_key(rule, key, hours if when == key and hours else None)
    if form.get("first_message"):
        set_key(rule, "first_message", True)
    elif rule.get("first_message") is True:
        set_key(rule, "first_message", None)
    for key in SWITCHES:
        set_key(rule, key, {"yes": True, "no": False}.get(form.get(key, "")))
    for key in ("cooldown", "pause"):
        set_key(rule, key, form.get(key, "").strip())
    if form.get("reply_kind") == "template":
        set_key(rule, "text", None)
        set_key(rule, "reply", form.get("reply_template", "").strip())
    else:
        set_key(rule, "reply", None)
        text = re.sub(r"\r\n?", "\n", form.get("reply", "")).strip()
        set_key(rule, "text", text)
    for key in ("examples", "counterexamples"):
        set_key(rule, key, example_lines(form.get(key, "")))
