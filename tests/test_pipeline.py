"""The pipeline through its own seams, receiving and deciding: :class:`Responder` driven
directly, with real signed bytes, a real SQLite store and the project's rule book, against the
in-memory ABC API of :mod:`tests.pipeline_harness` on a fixed clock.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from responder.engine.hours import parse_hours
from responder.errors import (
    BadSignature,
    DeliveryRejected,
    MalformedDelivery,
    PlatformRejected,
    StaleDelivery,
)
from responder.intake import Answer
from responder.model import Connection, Outcome
from responder.platform.deliveries import (
    EVENT_CONVERSATION_CREATED,
    EVENT_ESCALATION,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
)
from responder.platform.signature import sign
from responder.quiet import ECHO_WINDOW
from tests.pipeline_harness import (
    EDGE,
    HOURS_QUESTION,
    HOURS_REPLY,
    MAIN,
    NOW,
    OLD,
    SECOND,
    SECRET,
    SPARE,
    Pipeline,
    project_book,
)
from tests.rulebooks import book_from

Headers = dict[str, str]
Mangle = Callable[[bytes, Headers], tuple[bytes, Headers]]
STAMP = int(NOW.timestamp())
CREATED = EVENT_CONVERSATION_CREATED


def header(name: str, value: str | Callable[[bytes], str] | None) -> Mangle:
    """Set header ``name`` (to ``value`` of the body, if callable), or drop it for None."""

    def mangle(body: bytes, headers: Headers) -> tuple[bytes, Headers]:
        kept = {k: v for k, v in headers.items() if k != name}
        if value is None:
            return body, kept
        return body, {**kept, name: value(body) if callable(value) else value}

    return mangle


def resigned(body: bytes | dict[str, Any]) -> Mangle:
    """Replace the body by ``body`` (a dict is sent as JSON), signed with the right secret."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return lambda _, headers: (raw, {**headers, HEADER_SIGNATURE: sign(raw, SECRET)})


REFUSED: dict[str, tuple[Mangle, type[DeliveryRejected]]] = {
    "no-signature": (header(HEADER_SIGNATURE, None), BadSignature),
    "another-secret": (header(HEADER_SIGNATURE, lambda b: sign(b, "retired")), BadSignature),
    "another-body": (lambda body, headers: (body + b" ", headers), BadSignature),
    "not-a-digest": (header(HEADER_SIGNATURE, "deadbeef"), BadSignature),
    "no-timestamp": (header(HEADER_TIMESTAMP, None), StaleDelivery),
    "timestamp-not-a-number": (header(HEADER_TIMESTAMP, "soon"), StaleDelivery),
    "not-json": (resigned(b"{not json"), MalformedDelivery),
    "array": (resigned(b"[1, 2]"), MalformedDelivery),
    "string": (resigned(b'"text"'), MalformedDelivery),
    "not-utf8": (resigned(b"\xff\xfe"), MalformedDelivery),
    "event-data-not-an-object": (
        resigned({"event_type": CREATED, "event_data": [1]}),
        MalformedDelivery,
    ),
    "no-lead": (
        resigned({"event_type": CREATED, "event_data": {"content": "hi"}}),
        MalformedDelivery,
    ),
}
# The HTTP answer to each refusal; the web adapter passes it on as it is.
STATUS = {BadSignature: 401, StaleDelivery: 401, MalformedDelivery: 400}

ACCEPTED: dict[str, Mangle] = {
    "old-secret": lambda body, headers: (body, headers),
    "new-secret": header(HEADER_SIGNATURE, lambda b: sign(b, "new-secret")),
    "prefix": header(HEADER_SIGNATURE, lambda b: "sha256=" + sign(b, SECRET)),
    "upper-case": header(HEADER_SIGNATURE, lambda b: sign(b, SECRET).upper()),
    "lower-case-names": lambda body, headers: (body, {k.lower(): v for k, v in headers.items()}),
}


# -- receiving: verify, parse, claim, dispatch ------------------------------------------------


def test_a_signed_message_is_claimed_dispatched_and_answered(p: Pipeline) -> None:
    signed = p.say(HOURS_QUESTION)
    assert p.receive(signed) == Answer(202, {"status": "accepted"})
    [job] = p.jobs
    assert job.key == f"msg:{signed.message['id']}" and job.message.text == HOURS_QUESTION
    assert job.accepted_at == NOW and p.store.pending() == 1 and p.api.calls == []

    record = p.recorded(p.responder.handle(job))
    assert record.outcome is Outcome.SENT and record.rule == "opening-hours"
    assert record.reply.startswith(HOURS_REPLY) and "keyword 'opening hours'" in record.reason
    assert p.api.replies == [("1", record.reply, 123)] and p.api.sent() == [record.reply]
    assert p.store.pending() == 0 and p.last_reply() == {"opening-hours": NOW}


@pytest.mark.parametrize(("mangle", "error"), REFUSED.values(), ids=REFUSED.keys())
def test_a_refused_delivery_leaves_no_trace(
    p: Pipeline, mangle: Mangle, error: type[DeliveryRejected]
) -> None:
    signed = p.say(HOURS_QUESTION)
    body, headers = mangle(signed.body, dict(signed.headers))
    with pytest.raises(error) as refused:
        p.responder.receive(body, headers)
    assert refused.value.status == STATUS[error]
    assert SECRET not in str(refused.value)
    assert p.jobs == [] and p.store.pending() == 0 and p.store.decisions() == []
    assert p.api.calls == []


@pytest.mark.parametrize("mangle", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_signature_variants_and_both_secrets_of_a_rotation_verify(
    make: Callable[..., Pipeline], mangle: Mangle
) -> None:
    p = make(webhook_secrets=("new-secret", SECRET))
    signed = p.say(HOURS_QUESTION)
    body, headers = mangle(signed.body, dict(signed.headers))
    assert p.responder.receive(body, headers) == Answer(202, {"status": "accepted"})


@pytest.mark.parametrize(
    ("stamp", "accepted"),
    [
        (str(STAMP - 300), True),  # exactly at the tolerance: still accepted
        (str(STAMP + 300), True),
        (str(STAMP - 301), False),
        (str(STAMP + 301), False),
        (f"{STAMP - 300.5}", False),  # decimal seconds count
        (f"{STAMP + 299.5}", True),
        (str((STAMP - 300) * 1000), True),  # milliseconds, told by magnitude
        (str((STAMP + 300) * 1000 + 1), False),
    ],
)
def test_the_timestamp_tolerance_boundary_is_exact(p: Pipeline, stamp: str, accepted: bool) -> None:
    signed = p.say(HOURS_QUESTION)
    headers = {**signed.headers, HEADER_TIMESTAMP: stamp}
    if accepted:
        assert p.responder.receive(signed.body, headers).status == 202
    else:
        with pytest.raises(StaleDelivery, match="at most 300 s is accepted"):
            p.responder.receive(signed.body, headers)
        assert p.store.pending() == 0


@pytest.mark.parametrize(
    ("event", "lead"), [("leads_updated", "5"), ("leads_created", None), ("leads_deleted", "5")]
)
def test_events_without_a_message_are_ignored(p: Pipeline, event: str, lead: str | None) -> None:
    body, headers = p.sign(event, {}, lead)
    assert p.responder.receive(body, headers) == Answer(200, {"status": "ignored"})
    assert p.jobs == [] and p.store.pending() == 0 and p.api.calls == []


@pytest.mark.parametrize(
    ("omit", "redelivery"),
    [
        pytest.param((), {}, id="same-delivery"),
        pytest.param((), {"X-AbcSalesAI-Delivery": "redelivery-2"}, id="same-message-new-delivery"),
        pytest.param(("id",), {}, id="same-delivery-without-message-id"),
    ],
)
def test_a_message_delivered_twice_is_answered_once(
    p: Pipeline, omit: tuple[str, ...], redelivery: dict[str, str]
) -> None:
    signed = p.say(HOURS_QUESTION, omit=omit)
    assert p.receive(signed).status == 202
    again = p.responder.receive(signed.body, {**signed.headers, **redelivery})
    assert again == Answer(200, {"status": "duplicate"})
    [job] = p.jobs
    p.recorded(p.responder.handle(job))
    assert len(p.api.replies) == 1
    original, duplicate = sorted(p.store.decisions(), key=lambda d: d.key.startswith("dup:"))
    assert original.outcome is Outcome.SENT
    assert duplicate.outcome is Outcome.DUPLICATE and duplicate.lead_id == "1"
    assert "the original is still being handled" in duplicate.reason


def test_a_duplicate_names_the_outcome_of_the_original_in_the_log(p: Pipeline) -> None:
    """A message id reused for another lead's message: that lead's log says what happened."""
    first = p.say(HOURS_QUESTION, id=5000)
    assert p.receive(first).status == 202
    [job] = p.jobs
    p.recorded(p.responder.handle(job))
    reused = p.say("how much is it?", lead="77", id=5000)
    assert p.receive(reused) == Answer(200, {"status": "duplicate"})
    [record] = p.store.decisions(lead_id="77")
    assert record.outcome is Outcome.DUPLICATE and record.message_id == "5000"
    assert record.text == "how much is it?"  # what this lead wrote, for responder log
    assert record.reason == (
        "a duplicate of message 5000: the original (from lead 1) was already handled: sent by "
        "rule opening-hours on Wed 15 May 2024 11:00 (Asia/Kuala_Lumpur); this delivery was "
        "not answered again"
    )
    assert p.receive(reused).status == 200  # again: still one line for it
    assert len(p.store.decisions(lead_id="77")) == 1 and len(p.api.replies) == 1


def test_an_escalation_pauses_the_lead_until_the_escalation_pause_ends(p: Pipeline) -> None:
    body, headers = p.sign(EVENT_ESCALATION, {"lead_id": "1", "reason": "The lead asked."})
    assert p.responder.receive(body, headers) == Answer(200, {"status": "paused"})
    assert p.jobs == [] and p.store.lead_state("1").paused_until == NOW + timedelta(hours=24)

    paused = p.handled(HOURS_QUESTION)
    assert paused.outcome is Outcome.PAUSED and paused.rule == "opening-hours"
    assert "paused until Thu 16 May 2024 11:00 (Asia/Kuala_Lumpur)" in paused.reason
    p.clock.advance(timedelta(hours=24) - SECOND)
    assert p.handled(HOURS_QUESTION).outcome is Outcome.PAUSED
    p.clock.advance(SECOND)  # the pause has ended, exactly
    assert p.handled(HOURS_QUESTION).outcome is Outcome.SENT
    assert len(p.api.replies) == 1


# -- outbound messages: the loop guard and a person taking over -------------------------------


def test_an_agents_message_pauses_the_bot(p: Pipeline) -> None:
    takeover = p.handled("Hi, Farid from the team here", direction="outbound", sender_type="user")
    assert takeover.outcome is Outcome.NOT_INBOUND and takeover.rule == ""
    assert (
        "a person of the team wrote to the lead: auto-replies paused until "
        "Wed 15 May 2024 23:00 (Asia/Kuala_Lumpur)" in takeover.reason
    )
    assert p.store.lead_state("1").paused_until == NOW + timedelta(hours=12)
    assert p.handled(HOURS_QUESTION).outcome is Outcome.PAUSED
    assert p.api.replies == []


@pytest.mark.parametrize(
    ("later", "echo"),
    [(ECHO_WINDOW, True), (ECHO_WINDOW + SECOND, False)],
    ids=["within-the-echo-window", "after-it"],
)
def test_the_bots_own_reply_echoed_as_an_agents_message_is_not_a_takeover(
    p: Pipeline, later: timedelta, echo: bool
) -> None:
    sent = p.handled(HOURS_QUESTION)
    p.clock.advance(later)
    echoed = p.handled(sent.reply, direction="outbound", sender_type="user")
    assert echoed.outcome is Outcome.NOT_INBOUND
    assert ("from the bot" in echoed.reason) is echo
    assert (p.store.lead_state("1").paused_until is None) is echo


def test_the_bots_own_messages_are_never_answered(p: Pipeline) -> None:
    ignored = p.handled(HOURS_QUESTION, direction="outbound", sender_type="bot")
    assert ignored.outcome is Outcome.NOT_INBOUND and "from the bot" in ignored.reason
    assert p.api.calls == [] and p.store.lead_state("1").paused_until is None
    assert p.handled(HOURS_QUESTION).outcome is Outcome.SENT  # no takeover: still answered


# -- the 24-hour window -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ago", "channel", "outcome"),
    [
        (EDGE - SECOND, "whatsapp", Outcome.SENT),
        (EDGE, "whatsapp", Outcome.WINDOW_CLOSED),
        (timedelta(hours=23, minutes=55), "whatsapp", Outcome.WINDOW_CLOSED),
        (timedelta(hours=25), "whatsapp", Outcome.WINDOW_CLOSED),
        (timedelta(hours=25), "email", Outcome.SENT),
    ],
    ids=[
        "a-second-before-the-margin",
        "exactly-at-the-margin",
        "in-the-margin",
        "past-the-window",
        "channel-without-a-window",
    ],
)
def test_the_window_and_its_safety_margin(
    p: Pipeline, ago: timedelta, channel: str, outcome: Outcome
) -> None:
    record = p.handled(HOURS_QUESTION, ago=ago, messaging_channel_id=channel)
    assert record.outcome is outcome and record.rule == "opening-hours"
    if outcome is Outcome.SENT:
        assert len(p.api.replies) == 1
        return
    closes = NOW - ago + EDGE
    assert f"window closed at {closes:%Y-%m-%d %H:%M} UTC (with the safety margin)" in record.reason
    assert p.api.calls == [] and p.last_reply() == {} and p.store.pending() == 0


@pytest.mark.parametrize("known_before", [False, True])
def test_a_message_without_a_time_needs_an_earlier_one_to_prove_the_window(
    p: Pipeline, known_before: bool
) -> None:
    if known_before:
        p.handled("how much is it?", ago=timedelta(hours=1))
    record = p.handled(HOURS_QUESTION, ago=None)
    if known_before:
        assert record.outcome is Outcome.SENT
    else:
        assert record.outcome is Outcome.WINDOW_CLOSED and p.api.calls == ["conversation"]
        assert "time of the lead's last message is unknown" in record.reason


# -- the guards of a send: cooldown, pause, budget --------------------------------------------


def test_a_rules_cooldown_ends_exactly_after_it(p: Pipeline) -> None:
    p.handled(HOURS_QUESTION)
    p.clock.advance(timedelta(hours=6) - SECOND)
    held = p.handled("are you open today?")
    assert held.outcome is Outcome.COOLDOWN and held.rule == "opening-hours"
    assert "cooldown until Wed 15 May 2024 17:00 (Asia/Kuala_Lumpur)" in held.reason
    assert p.handled("how much is it?").outcome is Outcome.SENT  # another rule is not held
    p.clock.advance(SECOND)
    assert p.handled("are you open today?").outcome is Outcome.SENT
    assert len(p.api.replies) == 3


def test_a_rules_pause_silences_the_lead_after_its_reply(p: Pipeline) -> None:
    handoff = p.handled("Can I talk to a real person please")
    assert handoff.outcome is Outcome.SENT and handoff.rule == "human-please"
    assert p.store.lead_state("1").paused_until == NOW + timedelta(hours=24)
    paused = p.handled(HOURS_QUESTION)
    assert paused.outcome is Outcome.PAUSED and "paused" in paused.reason
    assert len(p.api.replies) == 1


def test_the_reply_budget_stops_a_loop_for_one_period(make: Callable[..., Pipeline]) -> None:
    p = make(reply_budget=2)
    assert p.handled("opening hours?").outcome is Outcome.SENT
    assert p.handled("how much?").outcome is Outcome.SENT
    p.clock.advance(timedelta(hours=1) - SECOND)
    over = p.handled("your address?")
    assert over.outcome is Outcome.BUDGET and over.rule == "location"
    assert "the most auto-replies allowed per hour" in over.reason
    p.clock.advance(SECOND)  # the first two replies are a period old: no longer counted
    assert p.handled("your address?").outcome is Outcome.SENT
    assert len(p.api.replies) == 3


def test_dry_run_decides_and_records_but_never_replies(make: Callable[..., Pipeline]) -> None:
    p = make(dry_run=True)
    record = p.handled(HOURS_QUESTION)
    assert record.outcome is Outcome.DRY_RUN and record.reply.startswith(HOURS_REPLY)
    assert "reply" not in p.api.calls and p.api.sent() == []


# -- channels, rules and templates ------------------------------------------------------------


@pytest.mark.parametrize(
    ("connections", "used"),
    [([OLD, MAIN], 123), ([OLD, SPARE], 7), ([OLD], None), ([], None)],
    ids=["the-default", "the-only-connected", "none-connected", "none-at-all"],
)
def test_a_message_without_its_connection_is_answered_on_a_connected_one(
    p: Pipeline, connections: list[Connection], used: int | None
) -> None:
    p.api.connection_list = connections
    record = p.handled(HOURS_QUESTION, omit=("messaging_channel_connection_id",))
    if used is None:
        assert record.outcome is Outcome.CHANNEL_UNAVAILABLE and record.rule == "opening-hours"
        assert record.reason == "no connected channel to reply on"
        assert p.api.calls == ["connections"] and p.last_reply() == {}
    else:
        assert record.outcome is Outcome.SENT and p.api.replies[0][2] == used


def test_connections_are_cached_and_forgotten_after_a_refusal(p: Pipeline) -> None:
    no_connection = {"omit": ("messaging_channel_connection_id",)}
    assert p.handled(HOURS_QUESTION, **no_connection).outcome is Outcome.SENT
    assert p.handled("how much?", **no_connection).outcome is Outcome.SENT
    assert p.api.calls.count("connections") == 1
    p.api.fail("reply", PlatformRejected("422: connection revoked", 422))
    refused = p.handled("your address?", **no_connection)
    assert refused.outcome is Outcome.FAILED and refused.rule == "location"
    assert "the platform refused: 422: connection revoked" in refused.reason
    assert "location" not in p.last_reply()  # nothing went out: the cooldown is given back
    assert p.handled("your address?", **no_connection).outcome is Outcome.SENT
    assert p.api.calls.count("connections") == 2


NO_FALLBACK = "rules:\n  - name: hours\n    keywords: [hours]\n    text: Nine to five\n"
BROKEN = 'rules:\n  - name: a\n    keywords: [price]\n    text: "{{ 1 // 0 }}"\n'
EMPTY = "rules:\n  - name: a\n    keywords: [price]\n    text: \"{{ '' }}\"\n"


@pytest.mark.parametrize(
    ("rules", "outcome", "rule", "reason"),
    [
        (NO_FALLBACK, Outcome.NO_MATCH, "", "no rule matched"),
        (BROKEN, Outcome.FAILED, "a", "keyword 'price'; but the reply template"),
        (EMPTY, Outcome.FAILED, "a", "produced an empty reply"),
    ],
    ids=["no-match", "template-fails", "template-empty"],
)
def test_no_match_and_a_failing_template_are_recorded_without_a_reply(
    make: Callable[..., Pipeline],
    tmp_path: Path,
    rules: str,
    outcome: Outcome,
    rule: str,
    reason: str,
) -> None:
    p = make(book=book_from(tmp_path / "book", rules))
    record = p.handled("what is the price?")
    assert (record.outcome, record.rule, record.reply) == (outcome, rule, "")
    assert reason in record.reason, record.reason
    assert p.api.calls == [] and p.store.pending() == 0


def test_silent_hours_record_the_message_as_silent_and_send_nothing(
    make: Callable[..., Pipeline],
) -> None:
    book = project_book()
    quiet = dataclasses.replace(book.settings, silent=parse_hours("daily 10:00-12:00"))
    p = make(book=dataclasses.replace(book, settings=quiet))  # NOW is 11:00 in Kuala Lumpur
    record = p.handled(HOURS_QUESTION)
    assert record.outcome is Outcome.SILENT and record.rule == "opening-hours"
    assert "the bot is silent daily 10:00-12:00 (now Wed 11:00 Asia/Kuala_Lumpur)" in record.reason
    assert p.api.replies == []
    p.clock.advance(timedelta(hours=1))
    assert p.handled("are you open today?").outcome is Outcome.SENT


def test_a_rules_attachment_goes_out_with_its_reply(
    tmp_path: Path, make: Callable[..., Pipeline]
) -> None:
    rules = (
        "rules:\n  - name: menu\n    keywords: [menu]\n    text: Our menu\n    attachment: m.pdf\n"
    )
    p = make(book=book_from(tmp_path, rules))
    assert p.handled("the menu please").outcome is Outcome.SENT
    assert p.api.sent() == ["Our menu"]
    assert p.api.attachments == ["m.pdf"]
