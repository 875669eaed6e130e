"""The Publish and Releases pages: what would go live and why it may not, the releases with
who published them, the difference between any two, and rolling back."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from responder.accounts import Change
from responder.console import blueprint, console, words
from responder.console.security import editors_only
from responder.engine import authoring
from responder.engine.book_diff import describe_changes
from responder.errors import StoreUnavailable
from responder.instances import INSTANCE_FORGOTTEN, rollout
from responder.model import utcnow
from responder.publishing import ReleaseNotFound, publish_folder, read_book, rollback
from responder.release import Release, ReleaseSource


def _live() -> Release | None:
    releases = console().releases
    number = releases.live_number()
    return releases.release(number) if number is not None else None


def _served_by(number: int | None) -> dict[str, Any]:
    """What ``_instances.html`` shows: how far release ``number`` has reached the instances
    (``rollout`` None when the store cannot say right now; the page polls on)."""
    state = console()
    if number is None:
        return {"rollout": None, "release": None}
    now = utcnow()
    try:
        found = state.service.instances.instances(now=now, forget=INSTANCE_FORGOTTEN)
    except StoreUnavailable as exc:
        current_app.logger.warning("console: instances unavailable: %s", exc)
        return {"rollout": None, "release": number}
    return {
        "rollout": rollout(found, number, now=now),
        "release": number,
        "heard": lambda at: words.short_moment(at, state.zone, seconds=True),
    }


@blueprint.get("/instances")
def instances() -> ResponseReturnValue:
    """Who serves release ``?release=N`` (the live one when not given): what the Publish
    and Releases pages poll for until every instance serves it."""
    number = request.args.get("release", type=int)
    if number is None:
        number = console().releases.live_number()
    return render_template("_instances.html", **_served_by(number))


@dataclass(frozen=True)
class ExampleResult:
    rule: str
    text: str
    must_answer: bool  # an example (True) or a counterexample (False)
    ok: bool


def example_results(report: authoring.CheckReport) -> list[ExampleResult]:
    """Every example and counterexample of the book, and whether it came out as it should."""
    if report.book is None:
        return []
    failed = {
        (p.rule, found.group(1), found.group(0).startswith("the example"))
        for p in report.failures
        if (found := _EXAMPLE.match(p.message))
    }
    return [
        ExampleResult(rule.name, text, must, (rule.name, text, must) not in failed)
        for rule in report.book.all_rules
        for must, texts in ((True, rule.examples), (False, rule.counterexamples))
        for text in texts
    ]


_EXAMPLE = re.compile(r'the (?:counter)?example "(.*)" was answered by')


def _blocked(report: authoring.CheckReport, changes: list[str]) -> str:
    """Why Publish is disabled, in one sentence; "" when it is not."""
    errors = len(report.errors)
    if errors:
        return (
            f"Publish is off until the {errors} problem{'s' if errors > 1 else ''} below "
            f"{'are' if errors > 1 else 'is'} fixed, so customers never get a broken reply."
        )
    if not changes:
        return "Nothing to publish: the rules are the same as the live release."
    return ""


@blueprint.get("/publish")
def publish() -> ResponseReturnValue:
    state = console()
    live = _live()
    folder = read_book(state.config.rules_dir, state.config.templates_dir)
    changes = (
        describe_changes(live.files if live else {}, folder)
        if live
        else ["publishes the first release"]
    )
    if live is not None and not changes and live.files != folder:
        changes = ["changes the files' layout or comments only"]
    report = authoring.check(state.config.rules_dir, state.config.templates_dir)
    published = request.args.get("release", type=int)
    return render_template(
        "publish.html",
        **_served_by(published if published is not None else live.number if live else None),
        live=live,
        changes=changes,
        report=report,
        examples=example_results(report),
        report_text=authoring.format_check(report),
        blocked=_blocked(report, changes),
        moment=lambda at: words.moment(at, state.zone),
        sources=words.SOURCES,
    )


@blueprint.post("/publish")
@editors_only
def publish_now() -> ResponseReturnValue:
    state = console()
    published = publish_folder(
        state.releases,
        state.config.rules_dir,
        state.config.templates_dir,
        author=g.user.name,
        source=ReleaseSource.CONSOLE,
        note=request.form.get("note", "").strip()[:200],
    )
    if published.release is None:
        flash("Not published: the check found problems. Nothing changed for customers.")
        return redirect(url_for("console.publish"))
    number = published.release.number
    what = f"published release {number}"
    state.accounts.record_change(Change(utcnow(), g.user.name, what))
    flash(
        f"Release {number} is live. Below, each instance of the bot as it picks it up; "
        "Releases can roll it back in one click."
    )
    return redirect(url_for("console.publish", release=number))


@blueprint.get("/releases")
def releases() -> ResponseReturnValue:
    state = console()
    listed = state.releases.releases(limit=100)
    live = state.releases.live_number()
    diff_words: list[str] = []
    diff_lines: list[str] = []
    a, b = request.args.get("a", type=int), request.args.get("b", type=int)
    older = newer = None
    if a is not None and b is not None:
        older, newer = state.releases.release(min(a, b)), state.releases.release(max(a, b))
        if older is None or newer is None:
            flash("One of those releases is no longer kept.")
        else:
            diff_words = describe_changes(older.files, newer.files) or ["no difference"]
            diff_lines = _file_diff(older, newer)
    return render_template(
        "releases.html",
        **_served_by(live),
        releases=listed,
        live=live,
        moment=lambda at: words.moment(at, state.zone),
        zone=state.zone.key,
        sources=words.SOURCES,
        older=older,
        newer=newer,
        diff_words=diff_words,
        diff_lines=diff_lines,
        changes=state.accounts.changes(limit=30),
    )


def _file_diff(older: Release, newer: Release) -> list[str]:
    lines: list[str] = []
    for name in sorted(set(older.files) | set(newer.files)):
        before = older.files.get(name, "").splitlines(keepends=True)
        after = newer.files.get(name, "").splitlines(keepends=True)
        lines.extend(
            difflib.unified_diff(
                before,
                after,
                f"release {older.number}: {name}",
                f"release {newer.number}: {name}",
            )
        )
    return [line.rstrip("\n") for line in lines]


@blueprint.get("/releases/<int:number>/rollback")
def confirm_rollback(number: int) -> ResponseReturnValue:
    state = console()
    release = state.releases.release(number)
    if release is None:
        abort(404)
    live = _live()
    changes = describe_changes(live.files, release.files) if live else []
    return render_template(
        "rollback.html",
        release=release,
        live=live,
        changes=changes,
        moment=lambda at: words.moment(at, state.zone),
    )


@blueprint.post("/releases/<int:number>/rollback")
@editors_only
def rollback_now(number: int) -> ResponseReturnValue:
    state = console()
    try:
        published = rollback(state.releases, number, state.releases_dir, author=g.user.name)
    except ReleaseNotFound:
        abort(404)
    if published.release is None:
        flash(
            f"Release {number} no longer passes the check here, so it was not brought back: "
            + "; ".join(p.message for p in published.report.errors[:3])
        )
        return redirect(url_for("console.releases"))
    new = published.release.number
    state.accounts.record_change(
        Change(utcnow(), g.user.name, f"rolled back to release {number} (as release {new})")
    )
    flash(f"Rolled back: release {number}'s rules are live again, as release {new}.")
    return redirect(url_for("console.releases"))
