"""What the console's pages say, through Flask's test client: the rules in order and in words,
the live check beside its field, a Publish that stays off while the book has an error, and
which instances serve a release (the console's own process reports through its heartbeat;
the others are records written to the same store, as other processes write them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from responder.instances import INSTANCE_FORGOTTEN, Instance
from responder.model import utcnow
from responder.ports import InstanceStore
from responder.server.web import create_app
from responder.simulator import Simulator
from responder.store import open_instances
from tests.console.conftest import add_people, console_config
from tests.console.test_auth import log_in, token
from tests.harness import wait_for


@pytest.fixture
def app(sim: Simulator, book: Path) -> Iterator[Flask]:
    add_people(book)
    app = create_app(console_config(sim, book))
    yield app
    app.extensions["responder"].close()


@pytest.fixture
def editor(app: Flask) -> FlaskClient:
    client = app.test_client()
    assert log_in(client) == 302
    return client


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#34;", '"')


def test_the_rules_page_lists_every_rule_in_order_in_words(editor: FlaskClient) -> None:
    page = text_of(editor.get("/console/rules").get_data(as_text=True))
    names = re.findall(r"(\S+) On Answers:", page)
    assert names == [
        "human-please",
        "order-status",
        "opening-hours",
        "pricing",
        "location",
        "after-hours",
        "welcome",
        "fallback",
    ]
    assert 'When a customer writes "price", "pricing", "how much", "cost*" or 3 more.' in page
    assert "Replies: Hi Alex! Our beans start at RM39 per 250 g bag" in page
    assert "When no other rule answers." in page
    assert page.count("Not answered yet.") == 8  # nothing in the decision log yet


def test_the_live_check_puts_a_misspelt_name_beside_its_field(editor: FlaskClient) -> None:
    form = {
        "csrf_token": token(editor, "/console/rules"),
        "file": "faq.yaml",
        "index": "",
        "name": "gluten free",
        "keywords": "gluten",
        "reply_kind": "text",
        "reply": "Hi {{ lead.frist_name }}",
        "examples": "gluten?",
    }
    answer = editor.post("/console/rules/check", data=form).get_data(as_text=True)
    beside = re.search(r'<div id="problems-reply"[^>]*>(.*?)</div>', answer, re.S)
    assert beside and "did you mean &#39;lead.first_name&#39;" in beside.group(1)
    keywords = re.search(r'<div id="problems-keywords"[^>]*>(.*?)</div>', answer, re.S)
    assert keywords and keywords.group(1) == ""
    form["reply"] = "Hi {{ lead.first_name | default('there') }}, yes!"
    answer = text_of(editor.post("/console/rules/check", data=form).get_data(as_text=True))
    assert "Hi Alex, yes!" in answer and "Hi there, yes!" in answer


def test_a_reply_file_is_previewed_in_each_of_its_languages(editor: FlaskClient) -> None:
    page = text_of(editor.get("/console/rules/faq.yaml/2").get_data(as_text=True))  # opening-hours
    assert "Default language" in page and "Malay" in page
    assert "Hi Alex! Kopi Kita is open" in page


def test_publish_is_off_while_the_book_has_an_error_and_says_why(
    editor: FlaskClient, book: Path
) -> None:
    rules = book / "rules" / "faq.yaml"
    rules.write_text(rules.read_text().replace("reply: location", "reply: locaton"))
    page = editor.get("/console/publish").get_data(as_text=True)
    assert re.search(r'<button type="submit" disabled[^>]*>Publish</button>', page)
    assert "Publish is off until the 1 problem below is fixed" in page
    refused = editor.post(
        "/console/publish", data={"csrf_token": token(editor, "/console/publish")}
    )
    assert refused.status_code == 302
    assert editor.application.extensions["responder"].releases.live_number() == 1


def test_publish_lists_every_example_and_how_it_came_out(editor: FlaskClient, book: Path) -> None:
    page = text_of(editor.get("/console/publish").get_data(as_text=True))
    assert "“How much is a bag?”: answered by 'pricing', as it should be" in page
    assert "“priceless”: not answered by 'pricing', as it should be" in page
    rules = book / "rules" / "faq.yaml"
    rules.write_text(rules.read_text().replace('"How much is a bag?"', '"a bag of beans please"'))
    page = text_of(editor.get("/console/publish").get_data(as_text=True))
    assert "“a bag of beans please”: should be answered by 'pricing', but is not" in page


def test_the_form_offers_the_forgiving_switches_and_checks_them_live(
    editor: FlaskClient,
) -> None:
    page = editor.get("/console/rules/faq.yaml/2").get_data(as_text=True)
    for label in ("Other forms of the words", "Forgive typos"):
        assert f">{label}</label>" in page
    assert '<option value="" selected>As in the settings</option>' in page
    form = {
        "csrf_token": token(editor, "/console/rules"),
        "file": "faq.yaml",
        "index": "",
        "name": "gluten free",
        "keywords": "gluten free",
        "typos": "yes",
        "reply_kind": "text",
        "reply": "Yes, we bake gluten free bread.",
        "examples": "do you have glutenfree bread?",
    }
    answer = text_of(editor.post("/console/rules/check", data=form).get_data(as_text=True))
    assert "was answered by" not in answer  # the example passes: typos joins the compound
    form["typos"] = "no"
    answer = text_of(editor.post("/console/rules/check", data=form).get_data(as_text=True))
    assert 'the example "do you have glutenfree bread?" was answered by' in answer


@pytest.fixture
def others(book: Path) -> Iterator[InstanceStore]:
    """The store's instance records, as another process writes them."""
    store = open_instances(str(book / "responder.db"))
    yield store
    store.close()


def report(
    store: InstanceStore,
    name: str,
    release: int,
    *,
    ago: float = 0,
    failed: int | None = None,
    problem: str = "",
) -> None:
    now = utcnow()
    started, seen = now - timedelta(minutes=1), now - timedelta(seconds=ago)
    record = Instance(name, release, started, seen, failed=failed, problem=problem)
    store.heartbeat(record, forget=INSTANCE_FORGOTTEN)


def said(html: str) -> str:
    """The page's text, as a person reads it."""
    return text_of(html).replace(" :", ":")


def fragment(client: FlaskClient, release: int) -> str:
    return client.get(f"/console/instances?release={release}").get_data(as_text=True)


def test_after_publishing_the_page_follows_each_instance_until_all_serve_it(
    editor: FlaskClient, others: InstanceStore, book: Path
) -> None:
    wait_for(
        lambda: "served by 1 of 1 instance." in fragment(editor, 1),
        what="this process to report release 1",
    )
    report(others, "web-2:4242:b2c3", 1)
    report(others, "web-3:4343:c3d4", 1, ago=60)  # quiet for a minute: not counted
    hello = book / "templates" / "welcome.j2"
    hello.write_text(hello.read_text() + "\nSee you soon!")
    published = editor.post(
        "/console/publish", data={"csrf_token": token(editor, "/console/publish")}
    )
    assert published.headers["Location"].endswith("/console/publish?release=2")

    page = said(editor.get("/console/publish?release=2").get_data(as_text=True))
    assert "Release 2 is live. Below, each instance of the bot as it picks it up" in page
    assert "web-2, process 4242: Still on release 1; last report" in page
    assert "web-3, process 4343: Not heard from since" in page
    assert "Asia/Kuala_Lumpur" in page  # times in the business's zone, named

    waiting = wait_for(
        lambda: "served by 1 of 2 instances." in (html := fragment(editor, 2)) and html,
        what="this process to report release 2",
    )
    assert 'hx-trigger="every 2s"' in waiting  # still polling: web-2 is not there yet

    report(others, "web-2:4242:b2c3", 2)
    done = fragment(editor, 2)
    assert "Release 2: served by 2 of 2 instances." in text_of(done)
    assert "Every instance serves release 2" in text_of(done)
    assert "hx-trigger" not in done  # the page stops asking

    releases = text_of(editor.get("/console/releases").get_data(as_text=True))
    assert "Release 2: served by 2 of 2 instances." in releases


def test_an_instance_that_could_not_load_the_release_says_so_in_words(
    editor: FlaskClient, others: InstanceStore
) -> None:
    report(others, "web-2:4242:b2c3", 1, failed=2, problem="the time zone Mars/Olympus is unknown")
    page = said(fragment(editor, 2))
    assert (
        "web-2, process 4242: Could not load release 2: the time zone Mars/Olympus is "
        "unknown; still serves release 1" in page
    )
