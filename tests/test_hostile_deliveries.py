"""Signed bodies no well-meaning platform would send, on both store engines: each one gets a
2xx or a 4xx (never an error the web adapter would turn into a 500), and each 2xx leaves
exactly one outcome; a replayed body changes nothing."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from responder.errors import MalformedDelivery
from responder.intake import Answer
from responder.model import Outcome
from responder.platform.deliveries import EVENT_ESCALATION
from responder.ports import Store
from tests.hostile_harness import HOUR, Desk, message_body
from tests.pipeline_harness import NOW, SECOND

CUT = "\ud83d"  # the first half of an emoji's surrogate pair, alone
ACCEPTED = Answer(202, {"status": "accepted"})


@pytest.fixture
def desk(store: Store) -> Desk:
    return Desk(store)


def _in_lead(**fields: Any) -> dict[str, Any]:
    return message_body(lead=fields)


SURROGATE_PLACES: dict[str, Callable[[], dict[str, Any]]] = {
    "content": lambda: message_body(content=f"opening hours? {CUT}"),
    "message-id": lambda: message_body(id=f"m-{CUT}"),
    "channel": lambda: message_body(messaging_channel_id=f"whatsapp{CUT}"),
    "lead-name": lambda: _in_lead(name=f"Ais{CUT}"),
    "lead-email": lambda: _in_lead(email=CUT),
    "lead-locale": lambda: _in_lead(locale=CUT),
    "lead-timezone": lambda: _in_lead(timezone=CUT),
    "tag-list": lambda: _in_lead(tags=["vip", CUT]),
    "tag-text": lambda: _in_lead(tags=f"vip,{CUT}"),
    "custom-field-value": lambda: _in_lead(custom_fields={"plan": CUT}),
    "custom-field-key": lambda: _in_lead(custom_fields={CUT: "gold"}),
    "custom-field-nested": lambda: _in_lead(custom_fields={"a": [{"b": [CUT]}]}),
}


@pytest.mark.parametrize("make", SURROGATE_PLACES.values(), ids=SURROGATE_PLACES.keys())
def test_a_lone_surrogate_anywhere_is_accepted_and_ends_in_one_outcome(
    desk: Desk, make: Callable[[], dict[str, Any]]
) -> None:
    body = make()
    body["event_data"]["created_at"] = body["event_data"].get("created_at") or NOW.isoformat()
    assert desk.post(body) == ACCEPTED
    [record] = desk.settle()
    assert desk.outcomes(record.key) == [record]
    assert CUT not in repr(record) and desk.store.pending() == 0


@pytest.mark.parametrize(
    "lead_id", [CUT, f"7{CUT}", "..", ".", "...", "7/../x", "7\n8", "7 8", "7?x", "x" * 129]
)
def test_a_lead_id_that_is_not_a_plain_identifier_is_refused(desk: Desk, lead_id: str) -> None:
    with pytest.raises(MalformedDelivery, match="not a plain identifier"):
        desk.post(_in_lead(id=lead_id))
    assert desk.jobs == [] and desk.store.pending() == 0


def test_an_integer_too_long_for_python_to_read_is_a_malformed_delivery(desk: Desk) -> None:
    raw = desk.encode(_in_lead(custom_fields={"n": 1})).replace(b'"n": 1', b'"n": ' + b"9" * 4400)
    with pytest.raises(MalformedDelivery, match="number too long"):
        desk.post(raw)
    assert desk.store.pending() == 0


def test_numbers_that_cannot_be_ids_are_not_taken_for_ids(desk: Desk) -> None:
    body = message_body(
        id=10**40, messaging_channel_connection_id=10**30, created_at=NOW.isoformat()
    )
    assert desk.post(body) == ACCEPTED
    [job] = desk.jobs
    assert job.key.startswith("body:") and job.message.connection_id is None
    [record] = desk.settle()
    assert record.outcome is Outcome.SENT and desk.api.replies[0][2] == 123  # the default


@pytest.mark.parametrize("far", ["9999-12-31T00:00:00+00:00", "0001-01-01T00:00:00+14:00"])
def test_a_time_out_of_range_is_no_time_and_never_poisons_the_lead(desk: Desk, far: Any) -> None:
    listed = desk.api.new_message(
        "7", content="opening hours?", direction="inbound", created_at=far
    )
    assert desk.post(message_body(id=listed["id"], created_at=far)) == ACCEPTED
    [record] = desk.settle()
    assert record.outcome is Outcome.WINDOW_CLOSED  # no time: the window cannot be proven open
    assert desk.store.lead_state("7").last_inbound is None

    assert desk.post(message_body(created_at=NOW.isoformat())) == ACCEPTED
    [later] = desk.settle()
    assert later.outcome is Outcome.SENT


def test_a_time_ahead_of_the_clock_is_taken_as_now(desk: Desk) -> None:
    ahead = datetime(2099, 12, 31, tzinfo=UTC)
    assert desk.post(message_body(created_at=ahead.isoformat())) == ACCEPTED
    [record] = desk.settle()
    assert record.outcome is Outcome.SENT
    state = desk.store.lead_state("7")
    assert state.last_inbound == state.first_seen == NOW
    # A day later, a message that comes late (stamped then) finds the window closed: the
    # lead's last message is a day old, whatever time it claimed.
    desk.clock.advance(timedelta(hours=24))
    assert desk.post(message_body(created_at=NOW.isoformat())) == ACCEPTED
    assert desk.settle()[0].outcome is Outcome.WINDOW_CLOSED


def test_nesting_deeper_than_the_limit_is_a_malformed_delivery(desk: Desk) -> None:
    deep: Any = "x"
    for _ in range(60):
        deep = {"content": deep}
    with pytest.raises(MalformedDelivery, match="nested more than 32 levels"):
        desk.post(message_body(content=deep))


def test_an_unexpected_error_while_reading_is_a_400(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a bug")

    monkeypatch.setattr("responder.intake.parse_delivery", broken)
    with pytest.raises(MalformedDelivery) as refused:
        desk.post(message_body())
    assert refused.value.status == 400 and "bug" not in str(refused.value)
    assert desk.store.pending() == 0 and desk.store.decisions() == []


class _AcceptFails:
    """A store whose ``accept`` fails the way a bug would; every other call goes through."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def accept(self, *args: object, **kwargs: object) -> bool:
        raise ValueError("a bug")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_an_unexpected_error_while_accepting_is_recorded_as_failed(store: Store) -> None:
    desk = Desk(_AcceptFails(store))  # type: ignore[arg-type]
    body = message_body(created_at=NOW.isoformat())
    assert desk.post(body) == ACCEPTED
    assert desk.jobs == []
    [record] = store.decisions()
    assert record.outcome is Outcome.FAILED and "could not be stored (ValueError)" in record.reason
    assert record.key == f"msg:{body['event_data']['id']}"
    assert desk.post(body) == Answer(200, {"status": "duplicate"})
    assert store.decisions() == [record]


# -- replays under a new delivery header --------------------------------------------------------


def _escalation(lead_id: str = "7") -> dict[str, Any]:
    return {
        "event_type": EVENT_ESCALATION,
        "event_data": {"lead_id": lead_id, "reason": "Lead asked to speak to a person"},
        "lead": {"id": lead_id, "name": "Aisyah Rahman"},
    }


def test_an_escalation_replayed_under_a_new_header_does_not_push_the_pause(desk: Desk) -> None:
    raw = desk.encode(_escalation())
    assert desk.post(raw, delivery_id="d-1") == Answer(200, {"status": "paused"})
    desk.clock.advance(20 * HOUR)
    assert desk.post(raw, delivery_id="d-2") == Answer(200, {"status": "duplicate"})
    assert desk.store.lead_state("7").paused_until == NOW + 24 * HOUR


def test_the_same_escalation_after_its_pause_ended_pauses_again(desk: Desk) -> None:
    raw = desk.encode(_escalation())
    desk.post(raw)
    desk.clock.advance(24 * HOUR)
    assert desk.post(raw) == Answer(200, {"status": "paused"})
    assert desk.store.lead_state("7").paused_until == NOW + 48 * HOUR
    assert desk.post(raw) == Answer(200, {"status": "duplicate"})


def test_a_message_without_an_id_is_keyed_on_its_body(desk: Desk) -> None:
    body = message_body(created_at=(NOW - SECOND).isoformat())
    del body["event_data"]["id"]
    raw = desk.encode(body)
    assert desk.post(raw, delivery_id="d-1") == ACCEPTED
    assert desk.post(raw, delivery_id="d-2") == Answer(200, {"status": "duplicate"})
    [job] = desk.jobs
    assert job.key == "body:" + hashlib.sha256(raw).hexdigest() and job.delivery_id == "d-1"
    [record] = desk.settle()
    assert record.outcome is Outcome.SENT and len(desk.api.replies) == 1
