"""The Rules pages: every rule in order, moving and switching them, and editing one (the
form, and the whole file as YAML in the Raw tab), with the live check beside each field."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from ruamel.yaml.comments import CommentedMap

from responder.accounts import Change
from responder.console import Console, blueprint, console, rulefiles, ruleform, words
from responder.console.checking import check_folder, check_rule, previews
from responder.console.rulefiles import FileProblem
from responder.console.security import editors_only
from responder.engine.problems import Problem
from responder.model import Outcome, utcnow
from responder.queries import ActivityQuery

FIRST_FILE = "rules.yaml"  # where the first rule of an empty folder goes


def _record(what: str) -> None:
    console().accounts.record_change(Change(utcnow(), g.user.name, what))


def _reply_line(state: Console, rule: CommentedMap, book: Any) -> str:
    """The first line of the rule's reply for the sample customer (as written if it cannot
    be rendered now)."""
    name = str(rule.get("name") or "")
    found = next((r for r in book.all_rules if r.name == name), None) if book else None
    if found is not None:
        shown = previews(book, found)
        if shown and not shown[0].failed:
            return shown[0].with_name.splitlines()[0] if shown[0].with_name else ""
    if rule.get("text"):
        return str(rule["text"]).strip().splitlines()[0]
    if rule.get("reply"):
        path = state.config.templates_dir / f"{rule['reply']}.j2"
        try:
            return path.read_text(encoding="utf-8").strip().splitlines()[0]
        except (OSError, IndexError, UnicodeDecodeError):
            return f"(the reply file {rule['reply']})"
    return ""


WEEK = timedelta(days=7)
COUNTED = 10_000  # the most answers read for the week's counts; a busier week says "at least"


def _answers_this_week(state: Console) -> tuple[Counter[str], bool]:
    """How many messages each rule answered in the last 7 days, from one bounded read of the
    decision log; True with them when the log held more than could be read."""
    counts: Counter[str] = Counter()
    query = ActivityQuery(outcome=Outcome.SENT, since=utcnow() - WEEK, limit=500)
    read = 0
    while read < COUNTED:
        page = state.service.store.activity(query)
        counts.update(record.rule for record in page.records)
        read += len(page.records)
        if page.next is None:
            return counts, False
        query = replace(query, before=page.next)
    return counts, True


NOT_YET = "Not answered yet."


def _answers_note(state: Console, name: str, count: int, more: bool) -> str:
    """How often and when the rule answered, in a sentence or two."""
    last = _last_answer(state, name)
    if not count and not more:
        return last if last == NOT_YET else f"No answers in the last 7 days. {last}".strip()
    times = "message" if count == 1 else "messages"
    week = f"Answered {'at least ' if more else ''}{count:,} {times} in the last 7 days."
    return f"{week} {last}".strip()


def _last_answer(state: Console, name: str) -> str:
    """When the rule last sent a reply, from the decision log; "" when the log does not say
    within one bounded look."""
    page = state.service.store.activity(ActivityQuery(rule=name, outcome=Outcome.SENT, limit=1))
    if page.records:
        return f"Last answered {words.moment(page.records[0].at, state.zone)}."
    return NOT_YET if page.next is None else ""


@blueprint.get("/rules")
def rules() -> ResponseReturnValue:
    state = console()
    found, broken = rulefiles.entries(state.config.rules_dir)
    report = check_folder(state.config.rules_dir, state.config.templates_dir, {})
    week, more = _answers_this_week(state)
    shown = [
        {
            "entry": entry,
            "trigger": words.trigger(entry.data),
            "reply": _reply_line(state, entry.data, report.book),
            "note": _answers_note(state, entry.name, week[entry.name], more),
            "first": position == 0,
            "bottom": position == len(found) - 1,
        }
        for position, entry in enumerate(found)
    ]
    files = rulefiles.rule_files(state.config.rules_dir)
    return render_template(
        "rules.html", rules=shown, broken=broken, files=files, errors=len(report.errors)
    )


def _entry_form() -> tuple[str, int]:
    file = request.form.get("file", "")
    try:
        index = int(request.form.get("index", ""))
    except ValueError:
        abort(400)
    return file, index


@blueprint.post("/rules/move")
@editors_only
def move_rule() -> ResponseReturnValue:
    file, index = _entry_form()
    up = request.form.get("direction") == "up"
    try:
        name = str(
            rulefiles.rule_at(rulefiles.load(console().config.rules_dir, file), index).get("name")
        )
        rulefiles.move(console().config.rules_dir, file, index, up)
    except FileProblem as exc:
        flash(str(exc))
        return redirect(url_for("console.rules"))
    _record(f"moved the rule '{name}' {'up' if up else 'down'}")
    flash(f"Moved '{name}' {'up' if up else 'down'}. It goes live when you publish.")
    return redirect(url_for("console.rules", _anchor=f"rule-{name}"))


@blueprint.post("/rules/switch")
@editors_only
def switch_rule() -> ResponseReturnValue:
    file, index = _entry_form()
    on = request.form.get("on") == "1"
    try:
        name = rulefiles.switch(console().config.rules_dir, file, index, on)
    except FileProblem as exc:
        flash(str(exc))
        return redirect(url_for("console.rules"))
    _record(f"switched {'on' if on else 'off'} the rule '{name}'")
    flash(f"Switched {'on' if on else 'off'} '{name}'. It goes live when you publish.")
    return redirect(url_for("console.rules", _anchor=f"rule-{name}"))


# -- editing one rule -------------------------------------------------------------------


def _candidate(file: str, index: int | None, form: dict[str, str]) -> tuple[str, int]:
    """The file's text with the form applied to rule ``index`` (a new rule when None)."""
    rules_dir = console().config.rules_dir
    if file == FIRST_FILE and not rulefiles.rule_files(rules_dir):
        document = rulefiles.parse("rules: []\n")  # the first rule makes the first file
    else:
        document = rulefiles.load(rules_dir, file)
    if index is None:
        index = rulefiles.new_rule_place(document)
        document["rules"].insert(index, CommentedMap())
    rule = rulefiles.rule_at(document, index)
    ruleform.apply(rule, form)
    return rulefiles.dump(document), index


def _form_page(
    file: str, index: int | None, form: dict[str, str], status: int = 200
) -> ResponseReturnValue:
    state = console()
    text, place = _candidate(file, index, form)
    checked = check_rule(state.config.rules_dir, state.config.templates_dir, file, text, place)
    templates = sorted(
        {p.name.split(".")[0] for p in state.config.templates_dir.glob("*.j2")}
        if state.config.templates_dir.is_dir()
        else set()
    )
    return (
        render_template(
            "edit.html",
            file=file,
            index=index,
            form=form,
            fields=ruleform.FIELDS,
            choices=ruleform.CHOICES,
            checked=checked,
            templates=templates,
            files=rulefiles.rule_files(state.config.rules_dir),
        ),
        status,
    )


@blueprint.get("/rules/new")
def new_rule() -> ResponseReturnValue:
    files = rulefiles.rule_files(console().config.rules_dir)
    file = request.args.get("file") or (files[-1] if files else FIRST_FILE)
    form = ruleform.values(CommentedMap())
    return _guarded(lambda: _form_page(file, None, form))


@blueprint.get("/rules/<file>/<int:index>")
def edit_rule(file: str, index: int) -> ResponseReturnValue:
    def page() -> ResponseReturnValue:
        document = rulefiles.load(console().config.rules_dir, file)
        form = ruleform.values(rulefiles.rule_at(document, index))
        return _form_page(file, index, form)

    return _guarded(page)


def _guarded(page: Any) -> ResponseReturnValue:
    try:
        result: ResponseReturnValue = page()
    except FileProblem as exc:
        flash(str(exc))
        return redirect(url_for("console.rules"))
    return result


def _posted() -> tuple[str, int | None, dict[str, str]]:
    file = request.form.get("file", "")
    raw = request.form.get("index", "")
    if not rulefiles.FILE_NAME.fullmatch(file):
        abort(404)
    index = int(raw) if raw.isdigit() else None
    form = {key: request.form.get(key, "") for key in request.form if key != "csrf_token"}
    return file, index, form


@blueprint.post("/rules/check")
def check_form() -> ResponseReturnValue:
    """The live check (htmx): each field's problems and the preview, swapped in place."""
    file, index, form = _posted()
    state = console()
    try:
        text, place = _candidate(file, index, form)
    except FileProblem as exc:
        return render_template(
            "check_oob.html", checked=None, fields=ruleform.FIELDS, failure=str(exc)
        )
    checked = check_rule(state.config.rules_dir, state.config.templates_dir, file, text, place)
    return render_template("check_oob.html", checked=checked, fields=ruleform.FIELDS, failure="")


@blueprint.post("/rules/save")
@editors_only
def save_rule() -> ResponseReturnValue:
    file, index, form = _posted()
    name = form.get("name", "").strip()
    if not name:
        flash("Give the rule a name first.")
        return _guarded(lambda: _form_page(file, index, form, 400))
    try:
        text, place = _candidate(file, index, form)
        rulefiles.write(console().config.rules_dir, file, text)
    except FileProblem as exc:
        flash(str(exc))
        return redirect(url_for("console.rules"))
    _record(f"{'added' if index is None else 'saved'} the rule '{name}'")
    flash(f"Saved '{name}'. It goes live when you publish.")
    return redirect(url_for("console.edit_rule", file=file, index=place))


# -- the whole file as YAML --------------------------------------------------------------


def _raw_problems(file: str, text: str) -> list[Problem]:
    state = console()
    report = check_folder(state.config.rules_dir, state.config.templates_dir, {file: text})
    return [*report.problems, *report.failures]


@blueprint.get("/files/<file>")
def raw_file(file: str) -> ResponseReturnValue:
    state = console()
    try:
        path = rulefiles.path_of(state.config.rules_dir, file)
    except FileProblem:
        abort(404)
    text = path.read_text(encoding="utf-8")
    back = request.args.get("back", "")
    return render_template(
        "raw.html", file=file, text=text, problems=_raw_problems(file, text), back=back
    )


@blueprint.post("/files/check")
def check_raw() -> ResponseReturnValue:
    file = request.form.get("file", "")
    if file not in rulefiles.rule_files(console().config.rules_dir):
        abort(404)
    problems = _raw_problems(file, request.form.get("text", ""))
    return render_template("raw_problems.html", problems=problems)


@blueprint.post("/files/save")
@editors_only
def save_raw() -> ResponseReturnValue:
    state = console()
    file = request.form.get("file", "")
    text = request.form.get("text", "").replace("\r\n", "\n")
    if file not in rulefiles.rule_files(state.config.rules_dir):
        abort(404)
    try:
        rulefiles.parse(text)
    except FileProblem as exc:
        problems = _raw_problems(file, text)
        flash(f"Not saved: {exc}".replace(" fix it in the Raw tab first", " fix it and save again"))
        return render_template("raw.html", file=file, text=text, problems=problems, back=""), 400
    rulefiles.write(state.config.rules_dir, file, text)
    _record(f"saved the file {file}")
    flash(f"Saved {file}. It goes live when you publish.")
    return redirect(url_for("console.raw_file", file=file))
