"""The console in a real browser (Debian's chromium through Playwright), as its users use it.

Elements are found by their labels and roles, as a person finds them. The service runs over
real HTTP against the ABC simulator; what is asserted about replies is what the simulator got.
Set RESPONDER_SCREENSHOTS=1 to write each page at 1280 and 375 px into docs/console/.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from responder.simulator import Simulator
from tests.console.conftest import CHROMIUM, PASSWORD, VIEWER_PASSWORD, console_config
from tests.harness import ROOT, Running, serve_in_thread, wait_for

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # pragma: no cover - the dev dependencies install it
    pytest.skip(
        "browser tests skipped: the playwright package is not installed", allow_module_level=True
    )
if not CHROMIUM.exists():
    pytest.skip(
        f"browser tests skipped: no browser at {CHROMIUM} (apt-get install -y chromium)",
        allow_module_level=True,
    )

SHOTS = ROOT / "docs" / "console"
PHONE = {"width": 375, "height": 740}
LAPTOP = {"width": 1280, "height": 900}
NEW_REPLY = "Hi {{ lead.first_name | default('there') }}! Every cake we bake is gluten free."


def open_page(browser: Browser, size: dict[str, int] = LAPTOP) -> Page:
    context = browser.new_context(viewport=size)  # type: ignore[arg-type]
    return context.new_page()


def log_in(page: Page, url: str, name: str = "sam", password: str = PASSWORD) -> None:
    page.goto(f"{url}/console/")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Rules", exact=True)).to_be_visible()


def go(page: Page, label: str) -> None:
    """Open a page from the menu (opening the menu first on a phone)."""
    # By the page's width, as the style sheet decides (max-width: 700px), not by what is
    # visible at one instant: a page still loading may show the button for a moment.
    viewport = page.viewport_size
    if viewport is not None and viewport["width"] <= 700:
        page.get_by_role("button", name="Menu").click()
    link = page.get_by_role("navigation", name="Pages").get_by_role("link", name=label, exact=True)
    # Wait for the new page to load, styles included: the old one may show the same heading.
    with page.expect_navigation(wait_until="load"):
        link.click()


def shoot(page: Page, name: str) -> None:
    """Keep a screenshot of the page for the docs (RESPONDER_SCREENSHOTS=1)."""
    if os.environ.get("RESPONDER_SCREENSHOTS") != "1":
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def ask(sim: Simulator, running: Running, lead: str, text: str) -> str:
    made = sim.say(lead, text, deliver=False)
    assert isinstance(made, dict)
    response = httpx.post(
        f"{running.url}/webhook", content=made["body"], headers=made["headers"], timeout=10
    )
    assert response.status_code == 202, response.text
    replies = wait_for(lambda: sim.replies(lead), what=f"the reply to lead {lead}")
    return str(replies[0]["content"])


def test_an_editor_writes_a_rule_publishes_it_and_rolls_it_back(
    browser: Browser, served: Running, sim: Simulator, book: Path
) -> None:
    page = open_page(browser)
    log_in(page, served.url)
    shoot(page, "rules-1280")
    page.get_by_role("link", name="New rule").click()
    page.wait_for_load_state()
    page.get_by_label("Name", exact=True).fill("gluten free")
    page.get_by_label("Keywords").fill("gluten")
    page.get_by_label("Reply text").fill("Hi {{ lead.frist_name }}!")
    # The misspelt field is named beside the reply, while typing, before anything is saved.
    expect(page.locator("#problems-reply")).to_contain_text("did you mean 'lead.first_name'")
    expect(page.get_by_role("button", name="Save")).to_be_enabled()
    page.get_by_label("Reply text").fill(NEW_REPLY)
    page.get_by_label("Examples", exact=True).fill("do you have gluten free cakes?")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Hi Alex! Every cake we bake is gluten free.")
    expect(preview).to_contain_text("Hi there! Every cake we bake is gluten free.")
    expect(page.locator("#problems-reply")).to_be_empty()
    shoot(page, "edit-1280")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved 'gluten free'")
    assert "gluten free" in (book / "rules" / "faq.yaml").read_text()
    assert '# Rules of "Kopi Kita"' in (book / "rules" / "faq.yaml").read_text()  # comments kept

    # Saved is not live: the service still answers as before.
    assert "gluten free" not in ask(sim, served, "before", "gluten?")

    go(page, "Publish")
    expect(
        page.get_by_role("listitem").filter(has_text="Adds the rule 'gluten free'")
    ).to_be_visible()
    shoot(page, "publish-1280")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status").first).to_contain_text("Release 2 is live")
    expect(page.get_by_text("Release 2, published by sam")).to_be_visible()
    wait_for(lambda: served.service.live.number == 2, what="the service to serve release 2")
    assert ask(sim, served, "after", "gluten?").endswith("! Every cake we bake is gluten free.")

    go(page, "Rules")
    card = page.get_by_role("listitem").filter(has=page.get_by_role("link", name="gluten free"))
    expect(card).to_contain_text("Last answered")
    expect(card).to_contain_text("(Asia/Kuala_Lumpur)")
    go(page, "Releases")
    expect(page.get_by_text("Times are in Asia/Kuala_Lumpur.")).to_be_visible()
    expect(page.get_by_text("sam published release 2")).to_be_visible()
    shoot(page, "releases-1280")
    first = page.get_by_role("listitem").filter(has=page.get_by_role("heading", name="Release 1"))
    first.get_by_role("link", name="Roll back to this").click()
    expect(page.get_by_text("Removes the rule 'gluten free'")).to_be_visible()
    shoot(page, "rollback-1280")
    page.get_by_role("button", name="Roll back", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text("release 1's rules are live again")
    wait_for(lambda: served.service.live.number == 3, what="the service to serve release 3")
    assert "gluten free" not in ask(sim, served, "rolled-back", "gluten?")


def test_the_raw_tab_checks_the_whole_file_as_it_is_typed(
    browser: Browser, served: Running
) -> None:
    page = open_page(browser)
    log_in(page, served.url)
    page.get_by_role("link", name="faq.yaml").click()
    page.wait_for_load_state()  # htmx listens once the page has loaded
    box = page.get_by_label("Rule file faq.yaml")
    text = box.input_value()
    box.fill(text.replace("keywords: [where are you", "keyword: [where are you"))
    expect(page.locator("#raw-problems")).to_contain_text("did you mean 'keywords'")
    shoot(page, "raw-1280")


def test_a_viewer_sees_but_cannot_publish(browser: Browser, served: Running, book: Path) -> None:
    (book / "rules" / "faq.yaml").write_text(
        (book / "rules" / "faq.yaml").read_text().replace("cooldown: 10m", "cooldown: 20m")
    )
    page = open_page(browser)
    log_in(page, served.url, "vic", VIEWER_PASSWORD)
    go(page, "Publish")
    button = page.get_by_role("button", name="Publish")
    expect(button).to_be_disabled()
    expect(page.get_by_text("Only editors can publish.")).to_be_visible()
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = page.request.post(f"{served.url}/console/publish", form={"csrf_token": token or ""})
    assert refused.status == 403
    assert served.service.releases.live_number() == 1


def test_a_change_without_the_csrf_token_is_refused(browser: Browser, served: Running) -> None:
    page = open_page(browser)
    log_in(page, served.url)
    refused = page.request.post(f"{served.url}/console/publish", form={"note": "sneaky"})
    assert refused.status == 400
    assert "Reload it and try again" in refused.text()
    assert served.service.releases.live_number() == 1


def test_without_an_account_the_console_says_how_to_create_one(
    browser: Browser, sim: Simulator, book: Path
) -> None:
    with serve_in_thread(console_config(sim, book)) as running:
        page = open_page(browser, PHONE)
        page.goto(f"{running.url}/console/rules")
        expect(page.get_by_role("heading", name="No one can log in yet")).to_be_visible()
        expect(page.get_by_text("responder users add YOUR-NAME --role editor")).to_be_visible()
        expect(page.get_by_label("Name")).to_have_count(0)
        shoot(page, "no-account-375")


PAGES = ("Rules", "Try it", "Publish", "Releases", "Activity", "Leads")
SHOT_HERE = ("Rules", "Publish", "Releases")


def fits_a_phone(page: Page, label: str) -> None:
    """No horizontal scroll, and every tap target of the page at least 44 px high."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], label
    small = page.evaluate(
        """[...document.querySelectorAll('main button, main a.button, main summary, main input:not([type=hidden]), main select')]
           .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
           .map(e => e.outerHTML.slice(0, 80))"""
    )
    small = [html for html in small if "checkbox" not in html and "radio" not in html]
    assert small == [], f"tap targets under 44 px on {label}: {small}"


def test_every_page_fits_a_phone_with_a_collapsed_menu(
    browser: Browser, served: Running, book: Path
) -> None:
    page = open_page(browser, PHONE)
    log_in(page, served.url)
    expect(page.get_by_role("link", name="Releases", exact=True)).to_be_hidden()
    for label in PAGES:
        go(page, label)
        expect(page.get_by_role("heading", name=label, exact=True)).to_be_visible()
        fits_a_phone(page, label)
        if label in SHOT_HERE:  # the others are shot with lines on them, in test_browser_watch
            shoot(page, f"{label.lower()}-375")
    go(page, "Rules")
    page.get_by_role("link", name="pricing", exact=True).click()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shoot(page, "edit-375")
    page.goto(f"{served.url}/console/files/faq.yaml")
    shoot(page, "raw-375")
    page.goto(f"{served.url}/console/releases/1/rollback")
    shoot(page, "rollback-375")


def test_the_login_page(browser: Browser, served: Running) -> None:
    for size, name in ((LAPTOP, "login-1280"), (PHONE, "login-375")):
        page = open_page(browser, size)
        page.goto(f"{served.url}/console/")
        page.get_by_label("Name").fill("sam")
        page.get_by_label("Password").fill("wrong password")
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_contain_text("do not match an account")
        shoot(page, name)
