"""What changes between two rule books, in words a rule author reads before publishing.

``describe_changes(live, folder)`` on two sets of release files (``rules/<name>.yaml`` and
``templates/<name>.j2`` -> text) gives sentences such as "adds the rule 'gluten free'" or
"changes the reply of 'prices'". Files that cannot be read are compared as text.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from responder.engine.validation import CONDITION_KEYS
from responder.engine.yamlfile import Located, load_yaml

#: The keys that change when a rule answers: its conditions (the keys that make it fire),
#: and the keys that narrow (``exclude``), widen (``word_forms``, ``typos``, ``short_ok``) or
#: replace (``fallback``) what those conditions match.
TRIGGER_KEYS = (*CONDITION_KEYS, "exclude", "fallback", "short_ok", "word_forms", "typos")


def describe_changes(old: Mapping[str, str], new: Mapping[str, str]) -> list[str]:
    """The differences from ``old`` to ``new``, one sentence each; [] when there are none."""
    old_rules, old_settings = _rules(old)
    new_rules, new_settings = _rules(new)
    changed_templates = {
        _template_name(name)
        for name in set(old) | set(new)
        if name.startswith("templates/") and old.get(name) != new.get(name)
    }
    said: list[str] = []
    for name in new_rules:
        if name not in old_rules:
            said.append(f"adds the rule '{name}'")
    for name in old_rules:
        if name not in new_rules:
            said.append(f"removes the rule '{name}'")
    for name, rule in new_rules.items():
        before = old_rules.get(name)
        if before is None:
            continue
        said.extend(_rule_changes(name, before, rule, changed_templates))
    said.extend(
        _moves([n for n in old_rules if n in new_rules], [n for n in new_rules if n in old_rules])
    )
    changed_settings = sorted(
        key
        for key in set(old_settings) | set(new_settings)
        if old_settings.get(key) != new_settings.get(key)
    )
    if changed_settings:
        said.append(f"changes the settings ({', '.join(changed_settings)})")
    used = {str(r.get("reply")) for r in new_rules.values() if r.get("reply")}
    for template in sorted(changed_templates - used):
        said.append(f"changes the reply file '{template}', which no rule uses")
    unreadable = sorted(
        name
        for name in set(old) | set(new)
        if name.startswith("rules/")
        and old.get(name) != new.get(name)
        and _document(new.get(name, "")) is None
    )
    said.extend(f"changes {name}, which cannot be read as rules" for name in unreadable)
    return said


def _rule_changes(name: str, old: Located, new: Located, templates: set[str]) -> list[str]:
    said: list[str] = []
    was_on, is_on = old.get("enabled", True) is not False, new.get("enabled", True) is not False
    if was_on != is_on:
        said.append(f"switches {'on' if is_on else 'off'} '{name}'")
    if any(_value(old, k) != _value(new, k) for k in TRIGGER_KEYS):
        said.append(f"changes when '{name}' answers")
    reply_changed = _value(old, "text") != _value(new, "text") or _value(old, "reply") != _value(
        new, "reply"
    )
    if reply_changed or (new.get("reply") and str(new.get("reply")) in templates):
        said.append(f"changes the reply of '{name}'")
    if _value(old, "attachment") != _value(new, "attachment"):
        said.append(f"changes the file sent with the reply of '{name}'")
    if _value(old, "cooldown") != _value(new, "cooldown"):
        said.append(f"changes how long '{name}' waits before answering the same customer again")
    if _value(old, "pause") != _value(new, "pause"):
        said.append(f"changes how long '{name}' stays quiet after answering")
    if _value(old, "gather") != _value(new, "gather"):
        said.append(f"changes how long '{name}' waits for more messages before answering")
    if _value(old, "examples") != _value(new, "examples") or _value(
        old, "counterexamples"
    ) != _value(new, "counterexamples"):
        said.append(f"changes the examples of '{name}'")
    if _value(old, "description") != _value(new, "description"):
        said.append(f"changes the description of '{name}'")
    return said


def _moves(old: list[str], new: list[str]) -> list[str]:
    if old == new:
        return []
    said: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, _, _, j1, j2 in matcher.get_opcodes():
        if tag in ("insert", "replace"):
            for name in new[j1:j2]:
                direction = "up" if new.index(name) < old.index(name) else "down"
                said.append(f"moves '{name}' {direction}")
    return said


def _value(rule: Located, key: str) -> Any:
    value = rule.get(key)
    return str(value) if not isinstance(value, (list, dict, bool, type(None))) else value


def _template_name(file: str) -> str:
    base = file.removeprefix("templates/").removesuffix(".j2")
    stem, _, _ = base.rpartition("/")
    last = base.rsplit("/", 1)[-1].split(".")[0]
    return f"{stem}/{last}" if stem else last


def _document(text: str) -> Located | None:
    try:
        data, _ = load_yaml(text)
    except ValueError:
        return None
    return data if isinstance(data, Located) else None


def _rules(files: Mapping[str, str]) -> tuple[dict[str, Located], dict[str, Any]]:
    rules: dict[str, Located] = {}
    settings: dict[str, Any] = {}
    for name in sorted(files):
        if not name.startswith("rules/"):
            continue
        document = _document(files[name])
        if document is None:
            continue
        if isinstance(document.get("settings"), dict):
            settings.update({k: repr(v) for k, v in document["settings"].items()})
        for item in document.get("rules") or ():
            if isinstance(item, Located) and item.get("name") is not None:
                rules.setdefault(str(item["name"]), item)
    return rules, settings
