"""After publishing, the Publish page follows each instance of the bot until every one
serves the new release, in a real browser (Debian's chromium through Playwright).

The console's own process reports through its heartbeat; a second instance is a record
written to the same store, as another process writes it. Set RESPONDER_SCREENSHOTS=1 to
write the page at 1280 and 375 px into docs/console/.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from responder.instances import INSTANCE_FORGOTTEN, Instance
from responder.model import utcnow
from responder.store import open_instances
from tests.console.test_browser import (  # skips this module too without a browser
    LAPTOP,
    PHONE,
    Browser,
    expect,
    fits_a_phone,
    go,
    log_in,
    open_page,
    shoot,
)
from tests.harness import Running

OTHER = "web-2:4242:b2c3"


def other_serves(book: Path, release: int) -> None:
    """The second instance says it serves ``release``."""
    store = open_instances(str(book / "responder.db"))
    try:
        now = utcnow()
        record = Instance(OTHER, release, now - timedelta(hours=2), now)
        store.heartbeat(record, forget=INSTANCE_FORGOTTEN)
    finally:
        store.close()


@pytest.mark.parametrize("size", [LAPTOP, PHONE], ids=["1280", "375"])
def test_after_publishing_the_page_shows_when_every_instance_serves_it(
    browser: Browser, served: Running, book: Path, size: dict[str, int]
) -> None:
    other_serves(book, 1)
    welcome = book / "templates" / "welcome.j2"
    welcome.write_text(welcome.read_text().rstrip() + " See you soon!\n")
    page = open_page(browser, size)
    log_in(page, served.url)
    go(page, "Publish")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status").first).to_contain_text("Release 2 is live")
    instances = page.get_by_role("list", name="Instances")
    other = instances.get_by_role("listitem").filter(has_text="web-2, process 4242")
    expect(other).to_contain_text("Still on release 1; last report")
    expect(other).to_contain_text("Asia/Kuala_Lumpur")  # the business's zone, named
    # This process picks release 2 up by itself within moments of the publish.
    expect(
        page.get_by_role("heading", name="Release 2: served by 1 of 2 instances.")
    ).to_be_visible()
    if size is PHONE:
        fits_a_phone(page, "Publish, after publishing")
    shoot(page, f"published-{size['width']}")

    other_serves(book, 2)
    expect(
        page.get_by_role("heading", name="Release 2: served by 2 of 2 instances.")
    ).to_be_visible(timeout=10_000)
    expect(page.get_by_text("Every instance serves release 2")).to_be_visible()
    expect(other).to_contain_text("Serves release 2")
