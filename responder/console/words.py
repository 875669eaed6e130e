"""Rules and moments said in words, for the console's pages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from responder.engine.hours import show_moment
from responder.model import Outcome
from responder.release import ReleaseSource

SOURCES = {
    ReleaseSource.FOLDER: "the rules folder",
    ReleaseSource.CONSOLE: "the console",
    ReleaseSource.ROLLBACK: "a roll back",
    ReleaseSource.CLI: "the command line",
}


def _listed(items: Any) -> str:
    words = [f'"{item}"' for item in (items if isinstance(items, list) else [items])]
    if len(words) > 4:
        words = [*words[:4], f"{len(words) - 4} more"]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def trigger(rule: Mapping[str, Any]) -> str:
    """What makes the rule answer, as a sentence: 'When a customer writes "price" or ...'."""
    parts: list[str] = []
    if rule.get("fallback") is True:
        return "When no other rule answers."
    if rule.get("keywords"):
        parts.append(f"When a customer writes {_listed(rule['keywords'])}")
    if rule.get("all"):
        joined = (
            " and ".join(f'"{w}"' for w in rule["all"])
            if isinstance(rule["all"], list)
            else rule["all"]
        )
        parts.append(f"{'and' if parts else 'When a message has'} all of {joined}")
    if rule.get("regex"):
        examples = rule.get("examples")
        like = f', like "{examples[0]}"' if isinstance(examples, list) and examples else ""
        parts.append(f"{'or' if parts else 'When'} a message fits a pattern{like}")
    if rule.get("exclude"):
        parts.append(f"but not with {_listed(rule['exclude'])}")
    if rule.get("first_message") is True:
        parts.append("the first message of a customer" if not parts else "in a first message")
    if rule.get("during"):
        parts.append(f"during {rule['during']} hours")
    if rule.get("outside"):
        parts.append(f"outside {rule['outside']} hours")
    if not parts:
        return "Every message."
    text = ", ".join(parts)
    if not text.startswith("When"):
        text = (
            "When it is " + text
            if (rule.get("during") or rule.get("outside")) and len(parts) == 1
            else "For " + text
        )
    return text[0].upper() + text[1:] + "."


def moment(at: datetime, zone: ZoneInfo | None) -> str:
    """A moment in the business's zone, the zone named: 'Thu 03 Dec 2026 14:02 (Asia/...)'."""
    return show_moment(at, zone)


# What became of a message, in plain words, for the Activity page.
OUTCOMES = {
    Outcome.SENT: "Answered",
    Outcome.DRY_RUN: "Would have answered (trial mode)",
    Outcome.NO_MATCH: "Not answered: no rule fits",
    Outcome.COOLDOWN: "Not answered: answered this customer moments ago",
    Outcome.PAUSED: "Not answered: paused",
    Outcome.SILENT: "Not answered: a rule says to stay quiet",
    Outcome.NOT_INBOUND: "A message to the customer",
    Outcome.WINDOW_CLOSED: "Not answered: WhatsApp's 24-hour window had closed",
    Outcome.BUDGET: "Not answered: enough replies to this customer this hour",
    Outcome.CHANNEL_UNAVAILABLE: "Not answered: this channel cannot be answered",
    Outcome.FAILED: "Not sent: the reply failed",
    Outcome.DUPLICATE: "Delivered again: answered once only (the reason says how the first went)",
}


DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # English whatever the locale
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_moment(at: datetime, zone: ZoneInfo | None, *, seconds: bool = False) -> str:
    """A moment of the recent past, short, the zone named: 'Thu 03 Dec 14:02, Asia/...'
    (with ``seconds``, 'Thu 03 Dec 14:02:05, Asia/...')."""
    local = at.astimezone(zone or UTC)
    day, month = DAYS[local.weekday()], MONTHS[local.month - 1]
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{day} {local.day:02d} {month} {clock}, {zone.key if zone else 'UTC'}"


def sentence(text: str) -> str:
    """``text`` ending as a sentence does (its first word may be a person's name: kept)."""
    text = text.strip()
    if not text:
        return ""
    return text if text.endswith((".", "!", "?")) else text + "."
