"""The Activity page: the decision log, newest first, every line saying why the bot did or
did not answer; and the Unanswered view, the messages no rule matched, each one a click
away from becoming an example of a rule.

The log is read through :func:`responder.activity.search` and :meth:`Store.unanswered`,
the same questions ``responder log`` and ``responder unanswered`` ask. What a lead wrote
reaches the page only through Jinja's autoescaping: it is shown as text, never as HTML.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from responder.accounts import Change
from responder.activity import search
from responder.console import blueprint, console, rulefiles, words
from responder.console.rulefiles import FileProblem
from responder.console.security import editors_only
from responder.model import Outcome, utcnow

PAGE_SIZE = 25
UNANSWERED_PERIOD = timedelta(days=7)
FILTERS = ("lead", "outcome", "rule", "text")
WORD_KEYS = ("keywords", "all", "regex")


def _filters() -> dict[str, str]:
    return {name: request.args.get(name, "").strip()[:200] for name in FILTERS}


def _page(filters: dict[str, str], before: str | None) -> dict[str, Any]:
    state = console()
    try:
        outcome = Outcome(filters["outcome"]) if filters["outcome"] else None
    except ValueError:
        outcome = None
    page = search(
        state.service.store,
        lead_id=filters["lead"] or None,
        outcome=outcome,
        rule=filters["rule"] or None,
        text=filters["text"] or None,
        before=before,
        limit=PAGE_SIZE,
    )
    return {
        "records": page.records,
        "next_mark": page.next,
        "filters": filters,
        "filtered": any(filters.values()),
        "when": lambda at: words.short_moment(at, state.zone),
        "outcomes": words.OUTCOMES,
        "why": words.sentence,
        "zone": state.zone.key,
    }


@blueprint.get("/activity")
def activity() -> ResponseReturnValue:
    before = request.args.get("before") or None
    values = _page(_filters(), before)
    return render_template("activity.html", before=before, **values)


@blueprint.get("/activity/latest")
def activity_latest() -> ResponseReturnValue:
    """The first page's lines alone: what the Activity page polls for while it is open."""
    values = _page(_filters(), None)
    return render_template("_activity_lines.html", live=True, **values)


@blueprint.get("/activity/unanswered")
def activity_unanswered() -> ResponseReturnValue:
    state = console()
    groups = state.service.store.unanswered(since=utcnow() - UNANSWERED_PERIOD, limit=30)
    found, _ = rulefiles.entries(state.config.rules_dir)
    # In the folder's order; only rules that answer words can learn one from an example.
    names = list(
        dict.fromkeys(entry.name for entry in found if any(k in entry.data for k in WORD_KEYS))
    )
    return render_template(
        "unanswered.html",
        groups=groups,
        rules=names,
        when=lambda at: words.short_moment(at, state.zone),
    )


@blueprint.post("/activity/unanswered/example")
@editors_only
def activity_add_example() -> ResponseReturnValue:
    """Add an unanswered message to a rule's examples (a round-trip save, as Edit does)."""
    text = request.form.get("text", "").strip()
    rule = request.form.get("rule", "").strip()
    if not text or not rule:
        abort(400)
    try:
        added = rulefiles.add_example(console().config.rules_dir, rule, text)
    except FileProblem as exc:
        flash(str(exc))
        return redirect(url_for("console.activity_unanswered"))
    if added:
        console().accounts.record_change(
            Change(utcnow(), g.user.name, f"added an example to the rule '{rule}'")
        )
        flash(
            f"Added “{text}” to the examples of '{rule}'. Publish shows whether '{rule}' "
            "answers it; add the missing word to its keywords if not."
        )
    else:
        flash(f"“{text}” is already an example of '{rule}'.")
    return redirect(url_for("console.activity_unanswered"))
