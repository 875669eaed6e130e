"""Advice about valid rules that cannot work as their author expects.

Nothing here stops a rule book from loading: every finding is a warning, which
:mod:`responder.engine.loader` adds to the problems it reports (:func:`shadowed_keywords`), or
``responder check`` does (:func:`typo_collisions`, on the compiled book: it needs the typo index
and costs more than a service loading the book should pay).
"""

from __future__ import annotations

from collections.abc import Iterable

from responder.engine.matching import Keyword
from responder.engine.problems import Problem, Severity
from responder.engine.rulebook import Role, Rule, RuleBook


def shadowed_keywords(rules: Iterable[Rule]) -> list[Problem]:
    """Warnings for keywords that an earlier keywords-only rule always answers first.

    ``rules`` are the enabled rules in order. Only rules whose single condition is ``keywords``
    can shadow: any other condition (hours, tags, exclude...) may let the message through to
    the later rule. Fallback rules neither shadow nor are shadowed. Each warning is placed at
    the later rule and names it.
    """
    warnings: list[Problem] = []
    exact: dict[str, Rule] = {}
    prefixes: dict[str, Rule] = {}
    for rule in rules:
        if rule.fallback:
            continue
        for kw in rule.keywords:
            earlier = _covering_rule(kw, exact, prefixes)
            if earlier is not None and earlier is not rule:
                message = (
                    f"the keyword '{kw.source}' never decides this rule: rule "
                    f"'{earlier.name}' ({earlier.where}) answers those messages first"
                )
                warnings.append(Problem(rule.file, rule.line, message, rule.name, Severity.WARNING))
        if _keywords_only(rule):
            for kw in rule.keywords:
                table = prefixes if kw.prefix else exact
                table.setdefault(kw.normalized, rule)
    return warnings


def _covering_rule(kw: Keyword, exact: dict[str, Rule], prefixes: dict[str, Rule]) -> Rule | None:
    """The earliest rule with a keyword that every text containing ``kw`` also contains."""
    if kw.spaceless:
        return exact.get(kw.normalized)
    tokens = kw.normalized.split(" ")
    found: list[Rule] = []
    for start in range(len(tokens)):
        for end in range(start + 1, len(tokens) + 1):
            phrase = " ".join(tokens[start:end])
            last_is_prefix = kw.prefix and end == len(tokens)
            if not last_is_prefix and phrase in exact:
                found.append(exact[phrase])
            head = " ".join(tokens[start : end - 1])
            last = tokens[end - 1]
            for cut in range(1, len(last) + 1):
                candidate = f"{head} {last[:cut]}" if head else last[:cut]
                if candidate in prefixes:
                    found.append(prefixes[candidate])
    return min(found, key=lambda r: r.order) if found else None


def _keywords_only(rule: Rule) -> bool:
    """True when ``keywords`` is the rule's only condition."""
    if not rule.keywords or rule.first_message is not None:
        return False
    other_words = (rule.all, rule.exclude, rule.regex)
    other_filters = (rule.channels, rule.tags, rule.locales, rule.hours)
    return not any(other_words) and not any(other_filters)


def typo_collisions(book: RuleBook) -> list[Problem]:
    """Warnings for a keyword of a rule with ``typos`` that, with a typo (or a compound
    joined or split), is another rule's keyword (``keywords`` or ``all``).

    Exact words come first, so the other rule still answers its keyword written exactly; but a
    customer who misspells that keyword may reach this rule. One warning per pair of keywords,
    placed at the rule with ``typos`` and naming the other rule. Never raises.
    """
    warnings: list[Problem] = []
    seen: set[tuple[int, str]] = set()
    texts: dict[str, list[Rule]] = {}
    for entry in book.keyword_entries:
        kw = entry.keyword
        if entry.role is not Role.EXCLUDE and not kw.prefix and not kw.spaceless:
            texts.setdefault(kw.normalized, []).append(entry.rule)
    if not any(rule.typos for rule in book.by_order.values()):
        return warnings
    for text in book.forgiving.may_collide(texts):
        owners = texts[text]
        for key_id, match in book.forgiving.find_whole(text).items():
            entry = book.keyword_entries[key_id]
            if entry.role is Role.EXCLUDE or entry.keyword.normalized == text:
                continue
            for other in owners:
                if other is entry.rule or (key_id, other.name) in seen:
                    continue
                seen.add((key_id, other.name))
                message = (
                    f"with typos: true, the keyword '{match.keyword}' also matches "
                    f"'{text}', a keyword of rule '{other.name}' ({other.where}): a customer "
                    "who misspells one of them may get the other rule's answer"
                )
                rule = entry.rule
                warnings.append(Problem(rule.file, rule.line, message, rule.name, Severity.WARNING))
    return warnings
