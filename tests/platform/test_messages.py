"""What the service asks of a list of messages: the newest, the one a partial delivery names,
whether a reply is already there, a time no later than now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from responder.model import Direction, Message, SenderType
from responder.platform.messages import hydrate, newest_message, not_after, reply_present

T0 = datetime(2026, 11, 26, 10, 15, tzinfo=UTC)


def msg(
    text: str,
    at: datetime | None,
    *,
    direction: Direction = Direction.INBOUND,
    id: str = "",
) -> Message:
    sender = SenderType.LEAD if direction is Direction.INBOUND else SenderType.BOT
    return Message(text=text, received_at=at, id=id, direction=direction, sender_type=sender)


def test_newest_message_ignores_untimed_and_breaks_ties_by_id() -> None:
    later = T0 + timedelta(seconds=1)
    messages = [
        msg("a", T0, id="1"),
        msg("c", later, id="10"),
        msg("b", later, id="9"),
        msg("?", None, id="99"),
    ]
    newest = newest_message(messages)
    assert newest is not None and newest.text == "c"
    assert newest_message([]) is None
    assert newest_message([msg("?", None)]) is None


def test_hydrate_prefers_the_same_message_id_over_the_newest() -> None:
    conversation = [msg("first", T0, id="1"), msg("later", T0 + timedelta(minutes=1), id="2")]
    same = hydrate(Message(text="", id="1"), conversation)
    assert same is not None and same.text == "first"
    newest = hydrate(Message(text=""), conversation)
    assert newest is not None and newest.text == "later"
    assert hydrate(Message(text=""), []) is None
    # A named message not listed yet is not replaced by another one.
    assert hydrate(Message(text="", id="3"), conversation) is None


def test_reply_present() -> None:
    sent_at = T0 + timedelta(minutes=5)
    messages = [
        msg("Hello", T0),
        msg("We open at 9.", sent_at, direction=Direction.OUTBOUND),
    ]
    assert reply_present(messages, "We open at 9.", since=sent_at)
    assert reply_present(messages, " We open at 9.\n", since=None)
    # The platform's clock may run a little behind ours.
    assert reply_present(messages, "We open at 9.", since=sent_at + timedelta(minutes=1))
    # An identical reply from long before this send is another reply.
    assert not reply_present(messages, "We open at 9.", since=sent_at + timedelta(hours=1))
    assert not reply_present(messages, "We open at 10.", since=sent_at)
    # The lead saying the same words is not our reply.
    assert not reply_present(messages, "Hello", since=None)


def test_reply_present_counts_an_untimed_copy_as_sent() -> None:
    untimed = [msg("We open at 9.", None, direction=Direction.OUTBOUND)]
    assert reply_present(untimed, "We open at 9.", since=T0)


def test_not_after_takes_a_later_time_as_now() -> None:
    later = Message("hi", received_at=T0 + timedelta(days=30))
    assert not_after(later, T0).received_at == T0
    earlier = Message("hi", received_at=T0 - timedelta(seconds=1))
    assert not_after(earlier, T0) is earlier
    untimed = Message("hi")
    assert not_after(untimed, T0) is untimed
