"""The decision: which rule answers a message, and with what text. A pure function.

Precedence (documented for rule authors in ``docs/rules.md``):

1. Rules are tried in order (file name, then position). The first rule whose conditions all
   hold decides.
2. If the bot is silent now (``settings: silent``), that rule is in cooldown for this lead, or
   the lead is paused, the outcome is "no reply" with that reason: it does not fall through
   to later rules or the fallback.
3. Fallback rules are considered only when no other rule's conditions hold.

Exact words come first: rules are first tried with the keywords as written. Only when no rule
holds that way are the keywords of rules with ``word_forms`` or ``typos`` also taken as found
where the message writes them otherwise (:mod:`responder.engine.forgiving`), and the rules
tried again in the same order, before the fallbacks. So switching forgiveness on never changes
the answer to a message that some rule already answered word for word. A forgiving ``exclude``
holds its rule back in both rounds.

Only rules that can possibly hold are looked at: the keyword index and the regex set name the
rules whose text conditions hit, plus the few rules that do not look at the text at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from responder.engine.attachments import select_attachment
from responder.engine.context import build_context
from responder.engine.hours import load_timezone, show_moment
from responder.engine.language import ReplyLanguage
from responder.engine.normalize import normalize
from responder.engine.rulebook import Role, Rule, RuleBook
from responder.engine.templates import render
from responder.errors import TemplateError
from responder.model import Lead, LeadState, Message, Outcome


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one message.

    ``outcome`` is None when ``reply`` should be sent, else why nothing is sent (``no_match``,
    ``silent``, ``cooldown``, ``paused``, or ``failed`` when the template broke). ``why`` says
    in words what decided; ``near_misses`` names rules whose words matched but which
    another condition stopped, for the rule author. ``language`` is the language the reply
    was written in and why (:func:`~responder.engine.language.choose_language`): set when a
    rule's reply was written (or failed), None otherwise and for a book that names no
    languages.
    """

    outcome: Outcome | None
    rule: Rule | None
    reply: str
    why: str
    normalized: str
    near_misses: tuple[str, ...] = ()
    #: The platform's storage reference of a file sent with ``reply``; empty for none.
    attachment: str = ""
    language: ReplyLanguage | None = None

    @property
    def replies(self) -> bool:
        return self.outcome is None


@dataclass(frozen=True, slots=True)
class _Hits:
    """What the text of one message matched, per rule order."""

    any: Mapping[int, str]  # rule order -> first matching keyword
    all: Mapping[int, frozenset[str]]  # rule order -> the `all` keywords present
    exclude: Mapping[int, str]
    groups: Mapping[int, dict[str, str]]  # regex hits
    #: (rule order, keyword) -> how it was found although written otherwise
    notes: Mapping[tuple[int, str], str]
    #: The same hits with the forgiving matches added; None when there are none.
    widened: _Hits | None = None

    def note(self, order: int, keyword: str) -> str:
        """`` (matched 'celiacs' as a form of 'celiac')`` for a forgiven keyword, else ""."""
        how = self.notes.get((order, keyword))
        return f" ({how})" if how else ""


def decide(
    message: Message, lead: Lead, book: RuleBook, state: LeadState, now: datetime
) -> Decision:
    """Pick the rule that answers ``message`` from ``lead`` at ``now`` and render its reply.

    Never raises for a problem with one message: a template that fails to render gives the
    outcome ``failed`` with the reason.
    """
    normalized = normalize(message.text)
    hits = _hits(book, normalized, message.text)
    tz = _timezone(lead, book)
    local_now = now.astimezone(tz)

    near: list[str] = []
    winner: tuple[Rule, str] | None = None
    # Closed days are the business's dates, whatever the lead's own zone.
    closed = book.settings.closed.at(now, book.settings.timezone or tz)
    for rule in _candidates(book, hits):
        verdict = _check(rule, hits, message, lead, state, local_now, closed)
        if isinstance(verdict, _Pass):
            winner = (rule, verdict.why)
            break
        if verdict.texted:
            near.append(f"{rule.name}: {verdict.why}")
    if winner is None and hits.widened is not None:
        hits = hits.widened
        for rule in _forgiven_candidates(book, hits):
            verdict = _check(rule, hits, message, lead, state, local_now, closed)
            if isinstance(verdict, _Pass):
                winner = (rule, verdict.why)
                break
            if verdict.texted:
                near = [miss for miss in near if not miss.startswith(f"{rule.name}: ")]
                near.append(f"{rule.name}: {verdict.why}")
    if winner is None:
        for rule in book.fallbacks:
            verdict = _check(rule, hits, message, lead, state, local_now, closed)
            if isinstance(verdict, _Pass):
                winner = (rule, "fallback: no other rule matched" + _also(verdict.why))
                break
    near_misses = tuple(near)
    if winner is None:
        return Decision(Outcome.NO_MATCH, None, "", "no rule matched", normalized, near_misses)

    rule, why = winner
    refusal = _silenced(book, local_now) or _held_back(rule, state, now, book.settings.timezone)
    language = None
    if refusal is None:
        # Only a reply about to be written needs its language: no detection otherwise.
        language = book.reply_language(rule, lead.locale, message.text)
        locale = language.locale if language is not None else lead.locale
        reply, failure = _fill_in(rule, book, hits, message, lead, local_now, locale)
        if not failure:
            attachment = select_attachment(rule.attachment, locale)
            return Decision(None, rule, reply, why, normalized, near_misses, attachment, language)
        refusal = Outcome.FAILED, failure
    outcome, reason = refusal
    why = f"{why}; but {reason}"
    return Decision(outcome, rule, "", why, normalized, near_misses, language=language)


def _held_back(
    rule: Rule, state: LeadState, now: datetime, zone: ZoneInfo | None
) -> tuple[Outcome, str] | None:
    """Why ``rule`` may not answer although its conditions hold (paused lead, cooldown).

    Times are written in the business's ``zone`` (UTC when None), naming it.
    """
    if state.is_paused(now):
        until = show_moment(state.paused_until, zone) if state.paused_until else ""
        return Outcome.PAUSED, f"auto-replies to this lead are paused until {until}"
    last = state.last_reply.get(rule.name)
    if rule.cooldown and last is not None and now < last + rule.cooldown:
        return Outcome.COOLDOWN, (
            f"this rule already answered this lead at {show_moment(last, zone)} "
            f"(cooldown until {show_moment(last + rule.cooldown, zone)})"
        )
    return None


def _silenced(book: RuleBook, local_now: datetime) -> tuple[Outcome, str] | None:
    """Why nobody is answered now: ``settings: silent`` holds."""
    silent = book.settings.silent
    if silent is None or not silent.contains(local_now, _zone(local_now)):
        return None
    return Outcome.SILENT, f"the bot is silent {silent} (now {_when(local_now)})"


def _fill_in(
    rule: Rule,
    book: RuleBook,
    hits: _Hits,
    message: Message,
    lead: Lead,
    local_now: datetime,
    locale: str,
) -> tuple[str, str]:
    """``(reply, "")``, or ``("", why)`` when the rule's template cannot write the reply.

    ``locale`` picks the template's language file or text.
    """
    context = build_context(
        lead=lead,
        message=message,
        match=hits.groups.get(rule.order, {}),
        rule=rule.name,
        now=local_now,
        vars=book.settings.vars,
    )
    try:
        reply = render(book.template_for(rule, locale), context)
    except TemplateError as exc:
        return "", str(exc)
    return (reply, "") if reply else ("", "the reply came out empty")


def _hits(book: RuleBook, normalized: str, original: str) -> _Hits:
    found = book.keyword_index.search(normalized)
    forgiven = book.forgiving.search(normalized, found) if len(book.forgiving) else {}
    any_hits: dict[int, str] = {}
    all_hits: dict[int, set[str]] = {}
    exclude_hits: dict[int, str] = {}
    notes: dict[tuple[int, str], str] = {}
    for entry_id in sorted(found):
        entry = book.keyword_entries[entry_id]
        order, source = entry.rule.order, entry.keyword.source
        if entry.role is Role.ANY:
            any_hits.setdefault(order, source)
        elif entry.role is Role.ALL:
            all_hits.setdefault(order, set()).add(source)
        else:
            exclude_hits.setdefault(order, source)
    loose_any: dict[int, str] = {}
    loose_all: dict[int, set[str]] = {}
    for entry_id in sorted(forgiven):
        entry = book.keyword_entries[entry_id]
        order, source = entry.rule.order, entry.keyword.source
        if entry.role is Role.EXCLUDE:
            if order not in exclude_hits:  # holding back is safe in both rounds
                exclude_hits[order] = source
                notes[(order, source)] = forgiven[entry_id].explain()
            continue
        notes[(order, source)] = forgiven[entry_id].explain()
        if entry.role is Role.ANY:
            loose_any.setdefault(order, source)
        else:
            loose_all.setdefault(order, set()).add(source)
    exact_all = {order: frozenset(words) for order, words in all_hits.items()}
    groups = book.regexes.search(original)
    widened = None
    if loose_any or loose_all:
        widened = _Hits(
            any={**loose_any, **any_hits},  # a keyword written exactly is the one named
            all={
                order: exact_all.get(order, frozenset()) | loose_all.get(order, set())
                for order in exact_all.keys() | loose_all.keys()
            },
            exclude=exclude_hits,
            groups=groups,
            notes=notes,
        )
    return _Hits(any_hits, exact_all, exclude_hits, groups, notes, widened)


def _candidates(book: RuleBook, hits: _Hits) -> Iterable[Rule]:
    """The ordinary rules that may hold, in rule order; cost follows the hits, not the book."""
    orders = set(hits.any) | set(hits.all) | set(hits.groups)
    by_order = {rule.order: rule for rule in book.untexted}
    for order in orders - by_order.keys():
        rule = book.by_order[order]
        if not rule.fallback:
            by_order[order] = rule
    return [by_order[order] for order in sorted(by_order)]


def _forgiven_candidates(book: RuleBook, hits: _Hits) -> Iterable[Rule]:
    """The ordinary rules that forgiving matches bring into play, in rule order; the others
    were tried with the same result in the first round."""
    orders = set(hits.any) | set(hits.all)
    rules = (book.by_order[order] for order in sorted(orders))
    return [rule for rule in rules if not rule.fallback and _widened_rule(rule, hits)]


def _widened_rule(rule: Rule, hits: _Hits) -> bool:
    if not (rule.word_forms or rule.typos):
        return False
    keywords = (*rule.keywords, *rule.all)
    return any((rule.order, kw.source) in hits.notes for kw in keywords)


@dataclass(frozen=True, slots=True)
class _Pass:
    why: str


@dataclass(frozen=True, slots=True)
class _Fail:
    why: str
    texted: bool  # the rule's text conditions held; something else stopped it


def _check(
    rule: Rule,
    hits: _Hits,
    message: Message,
    lead: Lead,
    state: LeadState,
    local_now: datetime,
    closed: str | None,
) -> _Pass | _Fail:
    """Evaluate every condition of ``rule``; say which held, or the first that did not."""
    reasons: list[str] = []
    if rule.keywords:
        word = hits.any.get(rule.order)
        if word is None:
            return _Fail("none of its keywords", texted=False)
        reasons.append(f"keyword '{word}'{hits.note(rule.order, word)}")
    if rule.all:
        present = hits.all.get(rule.order, frozenset())
        missing = [kw.source for kw in rule.all if kw.source not in present]
        if missing:
            return _Fail(f"'{missing[0]}' is missing (all: needs every word)", bool(present))
        shown = ", ".join(f"'{kw.source}'{hits.note(rule.order, kw.source)}" for kw in rule.all)
        reasons.append(f"all of {shown}")
    if rule.regex:
        groups = hits.groups.get(rule.order)
        if groups is None:
            return _Fail("its regex did not match", texted=bool(reasons))
        shown = ", ".join(f"{k}={v}" for k, v in groups.items())
        reasons.append(f"regex matched ({shown})" if shown else "regex matched")
    texted = bool(reasons)
    if rule.order in hits.exclude:
        word = hits.exclude[rule.order]
        return _Fail(f"excluded by '{word}'{hits.note(rule.order, word)}", texted)
    if rule.channels and message.channel.lower() not in rule.channels:
        return _Fail(f"channel '{message.channel or 'unknown'}' is not in its channels", texted)
    if rule.tags:
        tags = rule.tags.intersection(lead.tags)
        if not tags:
            return _Fail("the lead has none of its tags", texted)
        reasons.append(f"tag '{sorted(tags)[0]}'")
    if rule.locales:
        if not _locale_matches(lead.locale, rule.locales):
            return _Fail(f"locale '{lead.locale or 'unknown'}' is not in its locales", texted)
        reasons.append(f"locale '{lead.locale}'")
    if rule.hours is not None:
        inside = closed is None and rule.hours.hours.contains(local_now, _zone(local_now))
        when = _when(local_now) + (f": closed, {closed}" if closed else "")
        word = "during" if rule.hours.inside else "outside"
        if inside != rule.hours.inside:
            return _Fail(f"not {word} {rule.hours.label} ({when})", texted)
        reasons.append(f"{word} {rule.hours.label} ({when})")
    if rule.first_message is not None:
        first = state.is_first_message(message)
        if first != rule.first_message:
            reason = "it is the lead's first message" if first else "not the lead's first message"
            return _Fail(reason, texted)
        reasons.append("the lead's first message" if first else "not the first message")
    return _Pass(", ".join(reasons) or "no conditions")


def _locale_matches(locale: str, wanted: frozenset[str]) -> bool:
    locale = locale.replace("_", "-").lower()
    return bool(locale) and (locale in wanted or locale.split("-")[0] in wanted)


def _also(why: str) -> str:
    return f" ({why})" if why != "no conditions" else ""


def _timezone(lead: Lead, book: RuleBook) -> ZoneInfo:
    """The lead's zone if it names a real one, else the settings' zone, else UTC."""
    if lead.timezone:
        try:
            return load_timezone(lead.timezone)
        except ValueError:
            pass
    return book.settings.timezone or ZoneInfo("UTC")


def _when(local_now: datetime) -> str:
    return f"{local_now:%a %H:%M} {_zone(local_now).key}"


def _zone(local_now: datetime) -> ZoneInfo:
    tz = local_now.tzinfo
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo("UTC")
