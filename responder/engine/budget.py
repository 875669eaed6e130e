"""What one render of a reply template may spend: time, loop turns, calls, and text built.

:func:`~responder.engine.templates.render` opens a :class:`Budget` for every render
(:func:`activate`) and closes it afterwards (:func:`deactivate`); the sandbox's hooks in
:mod:`responder.engine.jinja_env` find it with :func:`current` and charge it at every loop
turn, every call, every checked operator and every filter. The budget lives in a context
variable, not in the template context, because loops and filters are not handed that context;
a context variable is also private to the thread (and task) rendering, so concurrent renders
never share one. Nothing here starts a thread or a timer: the clock is read at every charge,
so a render that is over its time stops at its next step.

Two kinds of limits hold:

* per render (:class:`RenderLimits`): a deadline, loop turns, calls, and the total of text and
  list items built, so that many small steps cannot add up to a long or large render;
* per value (:data:`TEXT_LIMIT`, :data:`DEPTH_LIMIT`): no text or list a template builds may be
  longer than a reply could ever use, or nested deeper than any reply needs. Sizes are checked
  before building where they can be predicted (see :mod:`responder.engine.jinja_checks`) so
  that a refused value is never built.

Every refusal is an :class:`OverBudget` whose message ends the sentence "the reply template
X:LINE ..." for a rule author.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Any

from jinja2.exceptions import SecurityError

__all__ = [
    "DEPTH_LIMIT",
    "TEXT_LIMIT",
    "Budget",
    "OverBudget",
    "RenderLimits",
    "activate",
    "current",
    "deactivate",
    "too_long",
]

TEXT_LIMIT = 100_000
"""Longest text, in characters, or list, in items, one step of a template may build."""

DEPTH_LIMIT = 100
"""Deepest nesting of lists and dictionaries a template may build or write out."""

_CONTAINERS = (list, tuple, set, frozenset, dict)


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """What one render may spend; the defaults are what the service and ``check`` use.

    ``seconds`` is wall-clock time from the start of the render; ``loop_turns`` counts the
    turns of every loop together (nested loops multiply); ``calls`` counts calls of macros,
    functions and methods; ``built`` is the total of characters and list items that
    operators, methods, filters and blocks build during the render.
    """

    seconds: float = 0.1
    loop_turns: int = 10_000
    calls: int = 10_000
    built: int = 10_000_000


class OverBudget(SecurityError):
    """A render went over one of its limits; the message is for the rule author."""


class Budget:
    """What is left of one render's :class:`RenderLimits`; every method may raise OverBudget."""

    __slots__ = ("_calls", "_deadline", "_left", "_sizes", "_turns", "limits")

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self._deadline = time.monotonic() + limits.seconds
        self._turns = limits.loop_turns
        self._calls = limits.calls
        self._left = limits.built
        # Sizes of containers already measured, by id; the value is kept so that the id
        # cannot be reused within the render. Built lists grow one step at a time
        # (``ns.items + [item]``), and measuring each step afresh would be quadratic.
        self._sizes: dict[int, tuple[object, int]] = {}

    def check_time(self) -> None:
        if time.monotonic() > self._deadline:
            raise OverBudget(
                f"takes longer than {self.limits.seconds:g} seconds to write; "
                f"a reply never needs that long"
            )

    def loop_turn(self) -> None:
        self._turns -= 1
        if self._turns < 0:
            raise OverBudget(
                f"repeats a loop more than {self.limits.loop_turns:,} times; "
                f"a reply never needs that many"
            )
        self.check_time()

    def call(self) -> None:
        self._calls -= 1
        if self._calls < 0:
            raise OverBudget(
                f"calls macros, functions or methods more than {self.limits.calls:,} times; "
                f"a reply never needs that many"
            )
        self.check_time()

    def spend(self, size: int) -> None:
        """Charge ``size`` characters or list items built."""
        self._left -= size
        if self._left < 0:
            raise OverBudget(
                f"builds more than {self.limits.built:,} characters of text and lists in "
                f"all; a reply never needs that much"
            )
        self.check_time()

    def keep(self, value: Any) -> Any:
        """``value``, once it is known to be small enough to keep; charges what it built.

        Texts and bytes are measured by length, lists, tuples, sets and dictionaries by
        :meth:`measure`; an iterator is returned wrapped so that what it produces is counted
        as it is produced. Other values pass unchanged.
        """
        if isinstance(value, str | bytes):
            if len(value) > TEXT_LIMIT:
                raise too_long(len(value))
            self.spend(len(value))
        elif isinstance(value, _CONTAINERS):
            self.measure(value)
            self.spend(len(value))
        elif isinstance(value, Iterator):
            return self.items(value)
        return value

    def measure(self, value: object, indent: int = 0) -> int:
        """About how many characters ``value`` takes written out (``str``, ``tojson``).

        ``indent`` adds that many characters per level of nesting to every item, as an
        indented listing does. Raises OverBudget as soon as the count passes
        :data:`TEXT_LIMIT`, or the nesting :data:`DEPTH_LIMIT`, so that the cost of measuring
        stays within what a reply can use whatever the value.
        """
        if isinstance(value, str):
            return len(value)
        if not indent and id(value) in self._sizes:
            return self._sizes[id(value)][1]
        total = 0
        stack: list[tuple[object, int]] = [(value, 0)]
        while stack:
            item, depth = stack.pop()
            total += indent * depth
            if not isinstance(item, _CONTAINERS):
                total += _scalar_size(item)
            elif item is not value and not indent and id(item) in self._sizes:
                total += self._sizes[id(item)][1]
            elif depth >= DEPTH_LIMIT:
                raise OverBudget(
                    f"nests lists more than {DEPTH_LIMIT} levels deep; "
                    f"a reply never needs that many"
                )
            else:
                # Brackets and separators are counted before the items are looked at, so
                # that a list of a million items is refused without a million steps.
                total += 2 + 2 * len(item)
                if total > TEXT_LIMIT:
                    raise too_long(total, written=True)
                stack.extend((child, depth + 1) for child in item)
                if isinstance(item, dict):
                    stack.extend((child, depth + 1) for child in item.values())
            if total > TEXT_LIMIT:
                raise too_long(total, written=True)
        if not indent and isinstance(value, _CONTAINERS):
            self._sizes[id(value)] = (value, total)
        return total

    def remember(self, value: object, size: int) -> None:
        """Record the measured ``size`` of a container an operator has just built."""
        self._sizes[id(value)] = (value, size)

    def items(self, iterator: Iterable[Any]) -> Iterator[Any]:
        """``iterator``'s items, counted as built and bounded by :data:`TEXT_LIMIT`."""
        for count, item in enumerate(iterator, 1):
            if count > TEXT_LIMIT:
                raise too_long(count, items=True)
            self.spend(1)
            yield item

    def loop(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """``iterable``'s items, charging a loop turn for each."""
        for item in iterable:
            self.loop_turn()
            yield item


def too_long(size: int, *, items: bool = False, written: bool = False) -> OverBudget:
    """The refusal of a text (or list) of ``size`` characters (items)."""
    if items:
        what = f"a list of {size:,} items"
    elif written:
        what = f"a value that takes more than {TEXT_LIMIT:,} characters to write out"
    else:
        what = f"a text of {size:,} characters"
    return OverBudget(f"asks for {what}, more than a reply can use")


def _scalar_size(item: object) -> int:
    # Roughly what repr() writes for one item that is not a list or dictionary.
    if isinstance(item, str | bytes):
        return len(item) + 3
    if isinstance(item, int):
        return item.bit_length() * 3 // 10 + 2
    return 24 if isinstance(item, float) else 16


_ACTIVE: ContextVar[Budget | None] = ContextVar("responder_render_budget", default=None)


def activate(limits: RenderLimits) -> Token[Budget | None]:
    """Open a budget for the render about to run; pass the token to :func:`deactivate`."""
    return _ACTIVE.set(Budget(limits))


def deactivate(token: Token[Budget | None]) -> None:
    _ACTIVE.reset(token)


def current() -> Budget:
    """The budget of the render running; outside a render, a fresh default one.

    A fresh budget still enforces the size limits; only time and counts are not carried
    from one step to the next there.
    """
    return _ACTIVE.get() or Budget(_DEFAULT)


_DEFAULT = RenderLimits()
