"""The values a reply template sees: the lead, the message, the match, the rule, now, vars.

The names are documented for template authors in ``docs/rules.md``; changing one here
breaks their templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from responder.engine.hours import load_timezone
from responder.model import Lead, Message

__all__ = ["build_context", "fixed_keys"]


def build_context(
    *,
    lead: Lead,
    message: Message,
    match: Mapping[str, str],
    rule: str,
    now: datetime,
    vars: Mapping[str, object],
    default_timezone: ZoneInfo | None = None,
) -> dict[str, object]:
    """The values a template sees, as plain dicts: lead, message, match, rule, now, vars.

    ``now`` (timezone-aware) and ``message.received_at`` are shown in the lead's time zone;
    when the lead has none or an unknown one, in ``default_timezone`` (the settings' zone),
    else as given. ``match`` values of groups that did not take part are ``""``. Raises
    ValueError when ``now`` is naive.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("the current time must carry a time zone")
    zone = _zone_or_none(lead.timezone) or default_timezone
    received = message.received_at
    if zone is not None:
        now = now.astimezone(zone)
        received = received.astimezone(zone) if received is not None else None
    return {
        "lead": {
            "id": lead.id,
            "name": lead.name,
            "first_name": lead.first_name,
            "email": lead.email,
            "phone": lead.phone,
            "tags": tuple(lead.tags),
            "locale": lead.locale,
            "timezone": lead.timezone,
            "custom_fields": dict(lead.custom_fields),
        },
        "message": {"text": message.text, "channel": message.channel, "received_at": received},
        "match": {key: "" if value is None else value for key, value in match.items()},
        "rule": {"name": rule},
        "now": now,
        "vars": dict(vars),
    }


@cache
def fixed_keys() -> Mapping[str, frozenset[str]]:
    """The values whose keys are the same for every reply, and their keys.

    ``lead``, ``message`` and ``rule`` always hold the keys :func:`build_context` gives
    them; ``match`` (the rule's pattern) and ``vars`` (the settings) are not fixed, and
    ``now`` is a date and time. Read from :func:`build_context` itself, so the two never
    disagree.
    """
    context = build_context(
        lead=Lead(id=""),
        message=Message(text="", channel=""),
        match={},
        rule="",
        now=datetime(2000, 1, 1, tzinfo=UTC),
        vars={},
    )
    return {
        name: frozenset(value)
        for name, value in context.items()
        if name in ("lead", "message", "rule") and isinstance(value, dict)
    }


@lru_cache(maxsize=256)
def _zone_or_none(name: str) -> ZoneInfo | None:
    # A lead's unknown zone must not break the reply: the settings' zone is used instead.
    if not name.strip():
        return None
    try:
        return load_timezone(name)
    except ValueError:
        return None
