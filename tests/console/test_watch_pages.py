"""The Activity, Unanswered, Leads and Try it pages through Flask's test client: what they
say, who may change what, and that every change asks for the CSRF token."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from responder.engine.normalize import normalize
from responder.model import EVERYONE, DecisionRecord, Outcome, Pause, utcnow
from responder.ports import Store
from responder.server.web import create_app
from responder.simulator import Simulator
from tests.console.conftest import VIEWER_PASSWORD, add_people, console_config
from tests.console.test_auth import log_in, token
from tests.console.test_pages import text_of as _text_of

XSS = "<img src=x onerror=alert(1)>"


def text_of(page: str) -> str:
    """The page's words, as a person reads them (tags out, entities decoded)."""
    return html.unescape(_text_of(page))


@pytest.fixture
def app(sim: Simulator, book: Path) -> Iterator[Flask]:
    add_people(book)
    app = create_app(console_config(sim, book))
    yield app
    app.extensions["responder"].close()


def store_of(app: Flask) -> Store:
    store: Store = app.extensions["responder"].store
    return store


@pytest.fixture
def editor(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert log_in(client) == 302
    return client


@pytest.fixture
def viewer(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, "vic", VIEWER_PASSWORD) == 302
    return client


def decided(app: Flask, n: int, text: str, outcome: Outcome, **fields: object) -> None:
    record = DecisionRecord(
        key=f"k{n}",
        lead_id=f"{100 + n}",
        outcome=outcome,
        at=utcnow() - timedelta(minutes=n),
        text=text,
        normalized=normalize(text),
        **fields,  # type: ignore[arg-type]
    )
    assert store_of(app).finish(record)


def test_activity_lists_decisions_newest_first_with_why_in_the_business_zone(
    app: Flask, editor: FlaskClient
) -> None:
    decided(
        app,
        2,
        "how much?",
        Outcome.SENT,
        rule="pricing",
        reason="matched 'how much'",
        reply="RM39 a bag",
        release=1,
    )
    decided(app, 1, "do you sell tea", Outcome.NO_MATCH, reason="no rule matched", unmatched=True)
    page = text_of(editor.get("/console/activity").get_data(as_text=True))
    assert page.index("do you sell tea") < page.index("how much?")
    assert "Answered by the rule 'pricing' (release 1)" in page
    assert "Why: matched 'how much'." in page
    assert "Not answered: no rule fits" in page
    assert re.search(r"\w{3} \d\d \w{3} \d\d:\d\d, Asia/Kuala_Lumpur", page)
    only = text_of(editor.get("/console/activity?outcome=sent").get_data(as_text=True))
    assert "how much?" in only and "do you sell tea" not in only
    found = text_of(editor.get("/console/activity?text=TEA").get_data(as_text=True))
    assert "do you sell tea" in found and "how much?" not in found
    latest = editor.get("/console/activity/latest?lead=101").get_data(as_text=True)
    assert "do you sell tea" in latest and "how much" not in latest
    assert 'hx-trigger="every 4s"' in latest  # the lines keep polling


def test_activity_pages_back_through_older_decisions(app: Flask, editor: FlaskClient) -> None:
    for n in range(30):
        decided(app, n, f"message number {n}", Outcome.NO_MATCH)
    first = editor.get("/console/activity").get_data(as_text=True)
    assert "message number 0<" in first and "message number 29<" not in first
    older = re.search(r'href="(/console/activity\?before=[^"]+)"', first)
    assert older is not None
    second = editor.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "message number 29<" in second and "message number 0<" not in second


def test_what_a_lead_wrote_is_escaped(app: Flask, editor: FlaskClient) -> None:
    decided(app, 1, XSS, Outcome.NO_MATCH, unmatched=True)
    for path in ("/console/activity", "/console/activity/unanswered"):
        page = editor.get(path).get_data(as_text=True)
        assert XSS not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_an_empty_activity_says_how_to_send_a_test_message(editor: FlaskClient) -> None:
    page = text_of(editor.get("/console/activity").get_data(as_text=True))
    assert "No messages yet" in page
    assert 'responder send "how much is a bag?" --lead 42' in page


def test_unanswered_groups_messages_and_an_editor_adds_one_as_an_example(
    app: Flask, editor: FlaskClient, book: Path
) -> None:
    for n in range(3):
        decided(app, n, "Do you sell TEA?", Outcome.NO_MATCH, unmatched=True)
    decided(app, 5, "gift cards?", Outcome.NO_MATCH, unmatched=True)
    page = text_of(editor.get("/console/activity/unanswered").get_data(as_text=True))
    assert page.index("Do you sell TEA?") < page.index("gift cards?")
    assert "3 times" in page
    before = (book / "rules" / "faq.yaml").read_text()
    response = editor.post(
        "/console/activity/unanswered/example",
        data={
            "csrf_token": token(editor, "/console/rules"),
            "rule": "pricing",
            "text": "Do you sell TEA?",
        },
    )
    assert response.status_code == 302
    after = (book / "rules" / "faq.yaml").read_text()
    assert "Do you sell TEA?" in after
    assert '# Rules of "Kopi Kita"' in after  # the round trip keeps comments
    changed = [line for line in after.splitlines() if line not in before.splitlines()]
    assert len(changed) <= 2, changed  # only the examples line of 'pricing' changed
    publish = text_of(editor.get("/console/publish").get_data(as_text=True))
    assert "Do you sell TEA?" in publish


def test_leads_pause_and_resume_through_the_store_with_who_did_it(
    app: Flask, editor: FlaskClient
) -> None:
    csrf = token(editor, "/console/leads")
    response = editor.post(
        "/console/leads/pause",
        data={"csrf_token": csrf, "lead": "42", "length": "1h", "note": "on the phone"},
    )
    assert response.status_code == 302
    (pause,) = store_of(app).pauses(now=utcnow())
    assert (pause.lead_id, pause.by, pause.note) == ("42", "sam", "on the phone")
    assert pause.until is not None and pause.until - pause.at == timedelta(hours=1)
    page = text_of(editor.get("/console/leads").get_data(as_text=True))
    assert "Customer 42" in page and "paused by sam" in page
    assert "sam paused customer 42 until" in page
    assert "Undo" in page
    editor.post("/console/leads/resume", data={"csrf_token": csrf, "lead": "42"})
    assert store_of(app).pauses(now=utcnow()) == []
    page = text_of(editor.get("/console/leads").get_data(as_text=True))
    assert "sam resumed customer 42" in page


def test_undo_takes_back_a_pause_and_brings_back_the_one_before(
    app: Flask, editor: FlaskClient
) -> None:
    store = store_of(app)
    store.put_pause(Pause("42", by="ana", at=utcnow(), note="hers"))
    csrf = token(editor, "/console/leads")
    editor.post("/console/leads/pause", data={"csrf_token": csrf, "lead": "42", "length": "1h"})
    assert store.pauses(now=utcnow())[0].by == "sam"
    editor.post("/console/leads/undo", data={"csrf_token": csrf})
    (back,) = store.pauses(now=utcnow())
    assert (back.by, back.note, back.until) == ("ana", "hers", None)
    editor.post("/console/leads/pause", data={"csrf_token": csrf, "lead": "7", "length": "1h"})
    editor.post("/console/leads/undo", data={"csrf_token": csrf})
    assert [p.lead_id for p in store.pauses(now=utcnow())] == ["42"]


def test_pausing_everyone_shows_a_red_banner_on_every_page(app: Flask, editor: FlaskClient) -> None:
    csrf = token(editor, "/console/leads")
    editor.post("/console/leads/pause", data={"csrf_token": csrf, "everyone": "1", "length": ""})
    (pause,) = store_of(app).pauses(now=utcnow())
    assert pause.lead_id == EVERYONE and pause.until is None and pause.by == "sam"
    for path in ("/console/rules", "/console/activity", "/console/publish"):
        assert "The bot is paused for everyone" in editor.get(path).get_data(as_text=True)
    editor.post("/console/leads/resume", data={"csrf_token": csrf, "everyone": "1"})
    assert "paused for everyone" not in editor.get("/console/rules").get_data(as_text=True)


def test_a_viewer_sees_leads_but_cannot_pause_resume_or_add_examples(
    app: Flask, viewer: FlaskClient, book: Path
) -> None:
    decided(app, 1, "tea?", Outcome.NO_MATCH, unmatched=True)
    store_of(app).put_pause(Pause("9", by="ana", at=utcnow()))
    page = viewer.get("/console/leads").get_data(as_text=True)
    assert "Only editors can pause the bot" in page and ">Pause<" not in page
    assert ">Resume<" not in page
    assert "Add as an example" not in viewer.get("/console/activity/unanswered").get_data(
        as_text=True
    )
    csrf = token(viewer, "/console/leads")
    before = (book / "rules" / "faq.yaml").read_text()
    for path, data in (
        ("/console/leads/pause", {"lead": "42"}),
        ("/console/leads/resume", {"lead": "9"}),
        ("/console/leads/undo", {}),
        ("/console/activity/unanswered/example", {"rule": "pricing", "text": "tea?"}),
    ):
        assert viewer.post(path, data={"csrf_token": csrf, **data}).status_code == 403, path
    assert [p.lead_id for p in store_of(app).pauses(now=utcnow())] == ["9"]
    assert (book / "rules" / "faq.yaml").read_text() == before


def test_the_new_changes_refuse_a_missing_csrf_token(
    app: Flask, editor: FlaskClient, book: Path
) -> None:
    before = (book / "rules" / "faq.yaml").read_text()
    for path, data in (
        ("/console/leads/pause", {"lead": "42"}),
        ("/console/leads/pause", {"everyone": "1"}),
        ("/console/leads/undo", {}),
        ("/console/activity/unanswered/example", {"rule": "pricing", "text": "tea?"}),
        ("/console/try", {"message": "hi"}),
    ):
        response = editor.post(path, data=data)
        assert response.status_code == 400, path
        assert "Reload it and try again" in response.get_data(as_text=True)
    assert store_of(app).pauses(now=utcnow()) == []
    assert (book / "rules" / "faq.yaml").read_text() == before


def test_try_it_shows_the_rule_why_and_reply_of_the_saved_rules(
    editor: FlaskClient, book: Path
) -> None:
    csrf = token(editor, "/console/try")
    page = text_of(
        editor.post(
            "/console/try",
            data={
                "csrf_token": csrf,
                "mode": "one",
                "message": "how much is a bag?",
                "name": "Mei Ling",
            },
        ).get_data(as_text=True)
    )
    assert "Rule: pricing" in page
    assert "Hi Mei! Our beans start at RM39" in page
    assert "Why:" in page
    # The draft: a saved, unpublished change is what is tried.
    faq = book / "rules" / "faq.yaml"
    faq.write_text(faq.read_text().replace("RM39", "RM41"))
    page = text_of(
        editor.post(
            "/console/try",
            data={
                "csrf_token": csrf,
                "mode": "one",
                "message": "how much is a bag?",
            },
        ).get_data(as_text=True)
    )
    assert "RM41" in page
    assert "including changes not yet published" in page


def test_try_it_converses_and_waits(editor: FlaskClient) -> None:
    csrf = token(editor, "/console/try")
    form = {
        "csrf_token": csrf,
        "mode": "chat",
        "action": "send",
        "message": "how much?",
        "steps": "[]",
    }
    first = editor.post("/console/try", data=form).get_data(as_text=True)
    assert "Our beans start at RM39" in text_of(first)
    steps = re.search(r'name="steps" value="([^"]*)"', first)
    assert steps is not None
    again = {**form, "steps": html.unescape(steps.group(1))}
    second = text_of(editor.post("/console/try", data=again).get_data(as_text=True))
    assert second.count("Our beans start at RM39") == 1  # answered moments ago: not again
    assert second.count("customer: how much?") == 2


def test_the_rules_page_counts_each_rules_answers_of_the_last_7_days(
    app: Flask, editor: FlaskClient
) -> None:
    for n in (1, 2, 3):
        decided(app, n, "how much?", Outcome.SENT, rule="pricing")
    decided(app, 8 * 24 * 60, "how much?", Outcome.SENT, rule="pricing")  # 8 days ago
    decided(app, 4, "where are you?", Outcome.SENT, rule="location")
    decided(app, 9 * 24 * 60, "order 12345?", Outcome.SENT, rule="order-status")
    decided(app, 5, "how much, again?", Outcome.COOLDOWN, rule="pricing")
    page = editor.get("/console/rules").get_data(as_text=True)
    notes = dict(re.findall(r'<li id="rule-([^"]+)".*?<p class="note">([^<]*)</p>', page, re.S))
    assert notes["pricing"].startswith("Answered 3 messages in the last 7 days.")
    assert notes["location"].startswith("Answered 1 message in the last 7 days.")
    assert notes["welcome"] == "Not answered yet."
    assert notes["order-status"].startswith("No answers in the last 7 days. Last answered ")
