"""The Activity, Unanswered, Leads and Try it pages in a real browser (Debian's chromium
through Playwright), found by their labels and roles. Deliveries are signed and sent to
``/webhook`` over real HTTP; whether a reply went out is what the ABC simulator received.
Set RESPONDER_SCREENSHOTS=1 to write each page at 1280 and 375 px into docs/console/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from responder.console import rulefiles
from responder.model import DecisionRecord, Pause, utcnow
from responder.simulator import Simulator
from tests.console.conftest import VIEWER_PASSWORD, add_people, console_config
from tests.console.test_browser import (  # skips this module too without a browser
    PHONE,
    Browser,
    ask,
    expect,
    fits_a_phone,
    go,
    log_in,
    open_page,
    shoot,
)
from tests.harness import Running, serve_in_thread, wait_for

XSS = "<img src=x onerror=alert(1)>"
# Rules that answer whatever the time or the customer: switched off, so that what no rule
# answers does not depend on the hour the tests run at.
ANSWER_ANYTHING = ("after-hours", "welcome", "fallback")


@pytest.fixture
def served(sim: Simulator, book: Path) -> Iterator[Running]:
    """The console's service with the rules that answer anything switched off."""
    add_people(book)
    for entry in rulefiles.entries(book / "rules")[0]:
        if entry.name in ANSWER_ANYTHING:
            rulefiles.switch(book / "rules", entry.file, entry.index, on=False)
    with serve_in_thread(console_config(sim, book)) as running:
        yield running


def deliver(sim: Simulator, running: Running, lead: str, text: str) -> DecisionRecord:
    """Send ``text`` as lead ``lead`` to the webhook, signed; the decision recorded on it."""
    made = sim.say(lead, text, deliver=False)
    assert isinstance(made, dict)
    response = httpx.post(
        f"{running.url}/webhook", content=made["body"], headers=made["headers"], timeout=10
    )
    assert response.status_code == 202, response.text
    found = wait_for(
        lambda: running.store.decisions(lead_id=lead, limit=1), what=f"a decision on lead {lead}"
    )
    record: DecisionRecord = found[0]
    return record


def test_activity_shows_a_delivery_and_why_and_updates_itself(
    browser: Browser, served: Running, sim: Simulator
) -> None:
    page = open_page(browser)
    log_in(page, served.url)
    go(page, "Activity")
    expect(page.get_by_role("heading", name="No messages yet")).to_be_visible()
    shoot(page, "activity-empty-1280")
    reply = ask(sim, served, "42", "how much is a bag?")
    # No reload: the page polls for its newest lines.
    line = page.get_by_role("listitem").filter(has_text="how much is a bag?")
    expect(line).to_contain_text("Answered by the rule 'pricing'")
    expect(line).to_contain_text("Why: ")
    expect(line).to_contain_text("Asia/Kuala_Lumpur")
    expect(line).to_contain_text(reply)
    ask(sim, served, "43", "where are you?")
    page.get_by_text("Filter").click()
    page.get_by_label("Customer (lead number)").fill("43")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("listitem").filter(has_text="where are you?")).to_be_visible()
    expect(page.get_by_text("how much is a bag?")).to_have_count(0)
    page.get_by_role("link", name="Show everything").click()
    shoot(page, "activity-1280")


def test_a_message_with_html_is_shown_as_text_and_never_runs(
    browser: Browser, served: Running, sim: Simulator
) -> None:
    deliver(sim, served, "66", XSS)
    page = open_page(browser)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, served.url)
    go(page, "Activity")
    expect(page.get_by_text(XSS)).to_be_visible()
    assert page.locator("main img").count() == 0
    page.get_by_role("link", name="Unanswered messages").click()
    expect(page.get_by_text(XSS)).to_be_visible()
    assert page.locator("main img").count() == 0
    assert dialogs == []


def test_a_paused_lead_gets_no_reply_and_the_activity_says_paused(
    browser: Browser, served: Running, sim: Simulator
) -> None:
    page = open_page(browser)
    log_in(page, served.url)
    go(page, "Leads")
    page.get_by_label("Customer (lead number)").fill("77")
    page.get_by_label("For how long").select_option(label="4 hours")
    page.get_by_label("Note for the team (optional)").fill("Mei is on the phone with them")
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Paused the bot for customer 77")
    expect(page.get_by_role("button", name="Undo")).to_be_visible()
    expect(page.get_by_text("sam paused customer 77 until")).to_be_visible()
    shoot(page, "leads-1280")
    expect(page.get_by_role("button", name="Undo")).to_be_hidden(timeout=15000)

    record = deliver(sim, served, "77", "how much is a bag?")
    assert record.outcome.value == "paused"
    assert sim.replies("77") == []
    go(page, "Activity")
    line = page.get_by_role("listitem").filter(has_text="how much is a bag?")
    expect(line).to_contain_text("Not answered: paused")
    expect(line).to_contain_text("sam paused auto-replies for this lead")

    go(page, "Leads")
    page.get_by_role("button", name="Resume customer 77").click()
    expect(page.get_by_role("status")).to_contain_text("The bot answers customer 77 again")
    assert ask(sim, served, "77", "how much is a bag?")


def test_undo_takes_a_pause_back(browser: Browser, served: Running) -> None:
    page = open_page(browser, PHONE)
    log_in(page, served.url)
    go(page, "Leads")
    page.get_by_label("Customer (lead number)").fill("78")
    page.get_by_role("button", name="Pause", exact=True).click()
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_role("status")).to_contain_text("Undone")
    assert served.store.pauses(now=utcnow()) == []
    expect(page.get_by_text("No customer is paused")).to_be_visible()


def test_pausing_everyone_shows_a_red_banner_on_every_page(
    browser: Browser, served: Running, sim: Simulator
) -> None:
    page = open_page(browser, PHONE)
    log_in(page, served.url)
    go(page, "Leads")
    page.get_by_role("button", name="Pause everyone").click()
    banner = page.get_by_role("alert").filter(has_text="The bot is paused for everyone")
    expect(banner).to_be_visible()
    color = banner.evaluate("e => getComputedStyle(e).backgroundColor")
    assert color == "rgb(179, 38, 30)"  # the console's red
    shoot(page, "leads-everyone-375")
    for label in ("Rules", "Activity", "Try it"):
        go(page, label)
        expect(banner).to_be_visible()
    assert deliver(sim, served, "80", "how much is a bag?").outcome.value == "paused"
    go(page, "Leads")
    page.get_by_role("button", name="Resume everyone").click()
    expect(page.get_by_role("alert").filter(has_text="paused for everyone")).to_have_count(0)


def test_a_viewer_sees_the_pauses_but_cannot_pause(browser: Browser, served: Running) -> None:
    page = open_page(browser)
    log_in(page, served.url, "vic", VIEWER_PASSWORD)
    go(page, "Leads")
    expect(page.get_by_text("Only editors can pause the bot.")).to_be_visible()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Pause everyone")).to_have_count(0)
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post(
        f"{served.url}/console/leads/pause", form={"csrf_token": token or "", "lead": "42"}
    )
    assert refused.status == 403
    assert served.store.pause_changes() == []


def test_try_it_shows_the_rule_and_the_reply(browser: Browser, served: Running) -> None:
    page = open_page(browser)
    log_in(page, served.url)
    go(page, "Try it")
    page.get_by_label("The customer writes").fill("how much is a bag?")
    page.get_by_text("The customer", exact=True).click()
    page.get_by_label("Name", exact=True).fill("Mei Ling")
    page.get_by_role("button", name="Try").click()
    answer = page.locator("#answer")
    expect(answer).to_contain_text("Rule: pricing")
    expect(answer).to_contain_text("Hi Mei! Our beans start at RM39")
    expect(answer).to_contain_text("Why: ")
    shoot(page, "try-1280")

    page.get_by_role("link", name="Conversation").click()
    page.get_by_label("The customer writes").fill("how much?")
    page.get_by_role("button", name="Send").click()
    chat = page.get_by_role("list", name="The conversation")
    expect(chat).to_contain_text("Our beans start at RM39")
    page.get_by_label("The customer writes").fill("how much?")
    page.get_by_role("button", name="Send").click()
    expect(chat.get_by_role("listitem")).to_have_count(2)
    expect(chat.get_by_role("listitem").nth(1)).not_to_contain_text("Our beans start")
    page.get_by_label("Wait", exact=True).select_option(label="1 day")
    page.get_by_role("button", name="Wait", exact=True).click()
    page.get_by_label("The customer writes").fill("how much?")
    page.get_by_role("button", name="Send").click()
    expect(chat.get_by_role("listitem").nth(3)).to_contain_text("Our beans start at RM39")
    shoot(page, "try-chat-1280")


def test_an_unanswered_message_becomes_an_example_of_a_rule(
    browser: Browser, served: Running, sim: Simulator
) -> None:
    for lead in ("90", "91"):
        deliver(sim, served, lead, "do you sell tea leaves?")
    page = open_page(browser)
    log_in(page, served.url)
    go(page, "Activity")
    page.get_by_role("link", name="Unanswered messages").click()
    group = page.get_by_role("listitem").filter(has_text="do you sell tea leaves?")
    expect(group).to_contain_text("2 times")
    shoot(page, "unanswered-1280")
    group.get_by_label("Add as an example to...").select_option("pricing")
    group.get_by_role("button", name="Add example").click()
    expect(page.get_by_role("status")).to_contain_text("to the examples of 'pricing'")
    go(page, "Publish")
    expect(page.get_by_text("do you sell tea leaves?").first).to_be_visible()


def test_the_new_pages_fit_a_phone_with_their_lines(
    browser: Browser, served: Running, sim: Simulator
) -> None:
    ask(sim, served, "42", "how much is a bag?")
    deliver(sim, served, "43", "do you sell tea leaves?")
    served.store.put_pause(Pause("44", by="mei", at=utcnow(), note="talking to them"))
    page = open_page(browser, PHONE)
    log_in(page, served.url)
    for label, shot in (("Activity", "activity-375"), ("Leads", "leads-375")):
        go(page, label)
        expect(page.get_by_role("heading", name=label, exact=True)).to_be_visible()
        fits_a_phone(page, label)
        shoot(page, shot)
    go(page, "Activity")
    page.get_by_role("link", name="Unanswered messages").click()
    expect(page.get_by_text("do you sell tea leaves?")).to_be_visible()
    fits_a_phone(page, "Unanswered")
    shoot(page, "unanswered-375")
    go(page, "Try it")
    page.get_by_label("The customer writes").fill("how much is a bag?")
    page.get_by_role("button", name="Try").click()
    expect(page.locator("#answer")).to_contain_text("Rule: pricing")
    fits_a_phone(page, "Try it")
    shoot(page, "try-375")
    page.get_by_role("link", name="Conversation").click()
    page.get_by_label("The customer writes").fill("how much?")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("list", name="The conversation")).to_contain_text("RM39")
    fits_a_phone(page, "Try it, conversation")
    shoot(page, "try-chat-375")
