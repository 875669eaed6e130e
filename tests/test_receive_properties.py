"""Properties of the webhook over generated signed bodies: whatever passes the signature gets a
2xx or a 4xx, never an error that would be a 500, and every 202 ends in exactly one recorded
outcome for its key. Through :meth:`Responder.receive` on both store engines, and (fewer
examples) through real HTTP.

The bodies are nested shapes close to the platform's, with odd values anywhere: text with
lone surrogates, control characters and bidirectional overrides; integers past Python's
4,300-digit limit; times from year 1 to 9999 in any zone, and Unix times of any size; fields
missing, extra or of the wrong type. Examples are derived, not random (``derandomize``), and
no example database is kept, so that a run in CI sees exactly what a run here saw.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from responder.model import Outcome
from responder.platform.deliveries import (
    EVENT_CONVERSATION_CREATED,
    EVENT_ESCALATION,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
)
from responder.platform.signature import sign
from responder.ports import Store
from responder.simulator import Simulator
from tests.harness import SECRET, serve_in_thread, service_config, wait_for
from tests.hostile_harness import Desk
from tests.pipeline_harness import NOW

PROPERTY = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HUGE = "\x00huge-integer\x00"  # stands for an integer JSON can hold but Python cannot read

# -- generated bodies ---------------------------------------------------------------------------

odd_characters = st.one_of(
    st.characters(codec="utf-8"),
    st.characters(categories=["Cs"]),  # lone surrogates
    st.characters(categories=["Cc", "Cf", "Zl", "Zp"]),  # controls, bidi overrides, separators
    st.sampled_from(["\ud83d", "\ude00", "😀", "\u202e", "\x1b", "\n", ".", "/", "%"]),
)
odd_text = st.text(odd_characters, max_size=12)
zones = st.sampled_from([None, UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])
times = st.one_of(
    st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30), timezones=zones).map(
        lambda t: t.isoformat()
    ),
    st.sampled_from(["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+14:00", "2024-05-15"]),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalars = st.one_of(
    odd_text,
    st.integers(-(2**70), 2**70),
    st.integers(10**4000, 10**4001),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    times,
)
anything = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(odd_text, inner, max_size=3)
    ),
    max_leaves=6,
)


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` three times in four, else ``odd``: bodies must get past the first checks
    often enough for the later steps to meet odd values too."""
    return st.one_of(usual, usual, usual, odd)


def _fields(
    known: dict[str, st.SearchStrategy[Any]], required: tuple[str, ...] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """An object with the ``required`` and some other ``known`` fields, and perhaps a few
    unknown ones."""
    return st.fixed_dictionaries(
        {k: v for k, v in known.items() if k in required},
        optional={k: v for k, v in known.items() if k not in required},
    ).flatmap(
        lambda given: st.dictionaries(odd_text, anything, max_size=2).map(
            lambda extra: {**extra, **given}
        )
    )


plain_ids = st.one_of(st.from_regex(r"[A-Za-z0-9_:@+.-]{1,12}", fullmatch=True), st.integers(0))
ids = mostly(plain_ids, anything)
text_or_odd = mostly(st.sampled_from(["What are your opening hours?", "hi", ""]), anything)
message = _fields(
    {
        "id": ids,
        "content": text_or_odd,
        "text": text_or_odd,
        "direction": mostly(st.sampled_from(["inbound", "outbound", "in"]), anything),
        "sender_type": mostly(st.sampled_from(["lead", "bot", "agent"]), anything),
        "created_at": times,
        "timestamp": times,
        "messaging_channel_id": mostly(st.just("whatsapp"), anything),
        "messaging_channel_connection_id": mostly(st.just(123), ids),
        "lead_id": ids,
    },
    required=("content", "direction"),
)
event_data = mostly(
    st.one_of(
        message,
        message.map(lambda m: {"message": m}),
        message.map(lambda m: {"conversation": m, "lead": {"id": m.get("lead_id")}}),
    ),
    anything,
)
lead = mostly(
    _fields(
        {
            "id": ids,
            "name": anything,
            "first_name": anything,
            "email": anything,
            "locale": mostly(st.sampled_from(["en", "ms-MY"]), anything),
            "timezone": mostly(st.sampled_from(["Asia/Kuala_Lumpur", "Mars/Base"]), anything),
            "tags": st.one_of(st.lists(anything, max_size=3), anything),
            "custom_fields": anything,
        },
        required=("id",),
    ),
    anything,
)
event_type = mostly(
    st.sampled_from([EVENT_CONVERSATION_CREATED, EVENT_ESCALATION, "leads_updated"]), anything
)
bodies = mostly(
    _fields(
        {"event_type": event_type, "event_data": event_data, "lead": lead},
        required=("event_type", "event_data", "lead"),
    ),
    anything,
)


# A message of a lead the service can address, with odd values in every leaf: most of these
# are accepted, so that storing, deciding and recording meet the odd values too.
inbound = _fields(
    {
        "content": st.one_of(
            st.just("What are your opening hours?"),
            odd_text.map(lambda t: f"opening hours {t}"),
            anything,
        ),
        "direction": st.just("inbound"),
        "created_at": st.one_of(st.just(NOW.isoformat()), times),
        "id": ids,
        "sender_type": mostly(st.just("lead"), anything),
        "timestamp": times,
        "messaging_channel_id": mostly(st.just("whatsapp"), anything),
        "messaging_channel_connection_id": mostly(st.just(123), ids),
    },
    required=("content", "direction", "created_at"),
)
addressable_lead = _fields(
    {
        "id": plain_ids,
        "name": anything,
        "email": anything,
        "locale": anything,
        "timezone": anything,
        "tags": st.one_of(st.lists(anything, max_size=3), anything),
        "custom_fields": anything,
    },
    required=("id",),
)
message_bodies = st.fixed_dictionaries(
    {
        "event_type": st.just(EVENT_CONVERSATION_CREATED),
        "event_data": inbound,
        "lead": addressable_lead,
    }
)


@st.composite
def encoded(draw: st.DrawFn, bodies: st.SearchStrategy[Any]) -> bytes:
    """A generated body as bytes the way a platform (or a forger) might write it: with its
    characters as \\uXXXX escapes or raw (a raw surrogate as CESU-8), and now and then an
    integer of more digits than Python reads."""
    body = draw(bodies)
    if draw(st.integers(0, 9)) == 7:  # not 0, which the generator favours
        body = {"n": HUGE, "body": body}
    ascii_only = draw(st.booleans())
    text = json.dumps(body, ensure_ascii=ascii_only, allow_nan=True)
    huge = json.dumps(HUGE, ensure_ascii=ascii_only)
    text = text.replace(huge, "9" * draw(st.integers(4301, 4400)))
    return text.encode("utf-8", "surrogatepass")


# -- the properties -----------------------------------------------------------------------------


def _answered_and_settled(desk: Desk, raw: bytes) -> int:
    """Post ``raw``; for a 202, handle its job and check it has exactly one outcome."""
    status = desk.status(raw)
    assert 200 <= status < 300 or 400 <= status < 500, status
    if status != 202:
        assert desk.jobs == []
        return status
    [job] = desk.jobs
    [record] = desk.settle()
    assert record.key == job.key and desk.outcomes(job.key) == [record]
    assert desk.store.pending() == 0
    return status


def test_any_signed_body_is_answered_2xx_or_4xx_and_each_202_gets_one_outcome(
    store: Store,
) -> None:
    desk = Desk(store, max_attempts=2)

    @PROPERTY
    @given(encoded(bodies))
    def check(raw: bytes) -> None:
        _answered_and_settled(desk, raw)

    check()


def test_a_message_with_odd_values_anywhere_ends_in_one_outcome(store: Store) -> None:
    desk = Desk(store, max_attempts=2)
    statuses: list[int] = []

    @PROPERTY
    @given(encoded(message_bodies))
    def check(raw: bytes) -> None:
        statuses.append(_answered_and_settled(desk, raw))

    check()
    assert statuses.count(202) > len(statuses) / 2  # the property was not met by refusals only


def test_over_http_any_signed_body_is_answered_2xx_or_4xx_and_each_202_gets_one_outcome(
    tmp_path: Path,
) -> None:
    settings_for_speed = {
        "lease": timedelta(seconds=1.5),
        "job_deadline": timedelta(seconds=1),
        "janitor_interval": timedelta(seconds=0.1),
        "max_attempts": 2,
    }
    with (
        Simulator(api_key="sim-key", webhook_secret=SECRET) as sim,
        serve_in_thread(service_config(sim, tmp_path, **settings_for_speed)) as service,
        httpx.Client(base_url=service.url, timeout=10) as http,
    ):
        accepted = 0

        @settings(PROPERTY, max_examples=30)
        @given(encoded(bodies))
        def check(raw: bytes) -> None:
            nonlocal accepted
            answer = http.post("/webhook", content=raw, headers=_headers(raw))
            assert 200 <= answer.status_code < 300 or 400 <= answer.status_code < 500
            assert "Traceback" not in answer.text
            accepted += answer.status_code == 202

        check()
        store = service.store
        wait_for(lambda: store.pending() == 0, timeout=30, what="every job's outcome")
        answered = [d for d in store.decisions(limit=1000) if d.outcome is not Outcome.DUPLICATE]
        assert len(answered) == accepted


def _headers(raw: bytes) -> dict[str, str]:
    """Signed as the platform signs, stamped now; no delivery id (the body's hash stands in)."""
    return {
        "Content-Type": "application/json",
        HEADER_SIGNATURE: sign(raw, SECRET),
        HEADER_TIMESTAMP: str(int(time.time())),
    }
