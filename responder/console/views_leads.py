"""The Leads page: pausing and resuming the bot for one lead or for everyone.

Both go through the store calls ``responder pause`` and ``resume`` make
(:meth:`Store.put_pause`, :meth:`Store.end_pause`), with the console user as who did it:
every instance on the store honours them from the next message, and the store keeps the
record of who paused what (:meth:`Store.pause_changes`), shown on the page. A pause asks for
no confirmation; the page offers "Undo" for a few seconds instead.
"""

from __future__ import annotations

from datetime import timedelta

from flask import flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from responder.console import blueprint, console, words
from responder.console.security import editors_only
from responder.model import EVERYONE, Pause, utcnow

# How long a pause from the page lasts: (form value, words, length; None until resumed).
LENGTHS: tuple[tuple[str, str, timedelta | None], ...] = (
    ("1h", "1 hour", timedelta(hours=1)),
    ("4h", "4 hours", timedelta(hours=4)),
    ("1d", "1 day", timedelta(days=1)),
    ("7d", "7 days", timedelta(days=7)),
    ("", "Until someone resumes it", None),
)
LEAD_MAX = 100
UNDO_SHOWN = 30  # seconds a just-made pause can be taken back in (the button hides sooner)


@blueprint.get("/leads")
def leads() -> ResponseReturnValue:
    state = console()
    now = utcnow()
    store = state.service.store
    running = store.pauses(now=now)
    undo = session.get("undo")
    if not isinstance(undo, dict) or now.timestamp() - float(undo.get("at", 0)) > UNDO_SHOWN:
        undo = None
    return render_template(
        "leads.html",
        everyone=next((p for p in running if p.everyone), None),
        paused=[p for p in running if not p.everyone],
        changes=store.pause_changes(limit=30),
        lengths=LENGTHS,
        undo=undo,
        moment=lambda at: words.moment(at, state.zone),
        whom=lambda lead: "everyone" if lead == EVERYONE else f"customer {lead}",
        zone=state.zone.key,
    )


def _lead() -> str | None:
    lead = request.form.get("lead", "").strip()
    if lead == EVERYONE or request.form.get("everyone") == "1":
        return str(EVERYONE)
    if not lead or len(lead) > LEAD_MAX or any(c.isspace() for c in lead):
        return None
    return lead


@blueprint.post("/leads/pause")
@editors_only
def pause_lead() -> ResponseReturnValue:
    lead = _lead()
    if lead is None:
        flash("Write the customer's lead number, as the platform shows it, then Pause.")
        return redirect(url_for("console.leads"))
    chosen = {value: length for value, _, length in LENGTHS}
    length = chosen.get(request.form.get("length", ""), timedelta(hours=1))
    store = console().service.store
    now = utcnow()
    before = next((p for p in store.pauses(now=now) if p.lead_id == lead), None)
    pause = Pause(
        lead,
        by=g.user.name,
        at=now,
        until=now + length if length else None,
        note=request.form.get("note", "").strip()[:200],
    )
    store.put_pause(pause)
    # What Undo puts back, kept in the signed session so no form can name another pause.
    session["undo"] = {
        "lead": lead,
        "before": before.to_json() if before else "",
        "at": now.timestamp(),
    }
    until = f"until {words.moment(pause.until, console().zone)}" if pause.until else "until resumed"
    whom = "everyone" if pause.everyone else f"customer {lead}"
    if pause.everyone:
        flash(f"Paused the bot for everyone {until}. No customer gets an automatic reply.")
    else:
        flash(f"Paused the bot for {whom} {until}. It answers none of their messages meanwhile.")
    return redirect(url_for("console.leads"))


@blueprint.post("/leads/resume")
@editors_only
def resume_lead() -> ResponseReturnValue:
    lead = _lead()
    if lead is None:
        return redirect(url_for("console.leads"))
    ended = console().service.store.end_pause(lead, by=g.user.name, now=utcnow())
    whom = "everyone" if lead == EVERYONE else f"customer {lead}"
    if lead == EVERYONE:
        flash("The bot answers everyone again. Customers paused one by one stay paused.")
    elif ended is not None:
        flash(f"The bot answers {whom} again.")
    else:
        flash(f"The bot was not paused for {whom}; it answers them.")
    return redirect(url_for("console.leads"))


@blueprint.post("/leads/undo")
@editors_only
def undo_pause() -> ResponseReturnValue:
    """Take back the pause just made: the pause before it comes back, or none."""
    undo = session.pop("undo", None)
    now = utcnow()
    if not isinstance(undo, dict) or now.timestamp() - float(undo.get("at", 0)) > UNDO_SHOWN:
        flash("Too late to undo; resume the customer below instead.")
        return redirect(url_for("console.leads"))
    lead, before = str(undo["lead"]), str(undo.get("before", ""))
    store = console().service.store
    if before:
        store.put_pause(Pause.from_json(before))
    else:
        store.end_pause(lead, by=g.user.name, now=now)
    flash("Undone: the pause was taken back.")
    return redirect(url_for("console.leads"))
