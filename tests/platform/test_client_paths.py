"""The lead id is one URL path segment, whatever it holds: the client never sends a request
to another path of the API."""

from __future__ import annotations

import time

import httpx
import pytest

from responder.platform.client import AbcClient

LEAD_PATHS = [
    ("..", b"/v1/leads/%2E%2E/conversations"),
    (".", b"/v1/leads/%2E/conversations"),
    ("...", b"/v1/leads/%2E%2E%2E/conversations"),
    ("a.b", b"/v1/leads/a.b/conversations"),
    ("a/b", b"/v1/leads/a%2Fb/conversations"),
    ("a?b=1", b"/v1/leads/a%3Fb%3D1/conversations"),
    ("a#b", b"/v1/leads/a%23b/conversations"),
    ("a%2Fb", b"/v1/leads/a%252Fb/conversations"),
    ("a b", b"/v1/leads/a%20b/conversations"),
]


def _client(seen: list[httpx.Request]) -> AbcClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"conversations": []}, "meta": {}})

    return AbcClient("https://abc.test/v1", "k", transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(("lead_id", "path"), LEAD_PATHS)
def test_the_conversation_of_any_lead_id_is_read_under_leads(lead_id: str, path: bytes) -> None:
    seen: list[httpx.Request] = []
    with _client(seen) as client:
        client.conversation(lead_id, deadline=time.monotonic() + 30)
    assert [r.url.raw_path for r in seen] == [path]


@pytest.mark.parametrize(("lead_id", "path"), LEAD_PATHS)
def test_a_reply_to_any_lead_id_is_posted_under_leads(lead_id: str, path: bytes) -> None:
    seen: list[httpx.Request] = []
    with _client(seen) as client:
        client.reply(lead_id, "Hi", 123, deadline=time.monotonic() + 30)
    assert [r.url.raw_path for r in seen] == [path + b"/reply"]
