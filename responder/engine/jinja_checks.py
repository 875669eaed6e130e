"""Size checks made before a reply template's operator or method builds a text or a list.

Each check predicts, from its operands, how large the result of ``*``, ``+``, ``**``, ``%``,
a format spec or a text method (padding, ``replace``, ``join``, ``expandtabs``, ``translate``)
will be, and raises :class:`~responder.engine.budget.OverBudget` when it would pass
:data:`~responder.engine.budget.TEXT_LIMIT`: the value is refused before it is built, so a
one-line template cannot take a gigabyte. Predictions are upper bounds, close for the
ordinary cases; the exact size of what is built is checked again afterwards
(:meth:`~responder.engine.budget.Budget.keep`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from responder.engine.budget import TEXT_LIMIT, Budget, OverBudget, too_long

__all__ = ["NUMBER_BITS_LIMIT", "binop_size", "check_format_spec", "method_args", "percent_size"]

NUMBER_BITS_LIMIT = 4_096
"""Largest number, in bits, a calculation may produce (about 1,200 digits)."""

_DIGITS_LIMIT = 18  # longer numbers are refused without reading them
_PERCENT = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0 +\-]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[hlL]?"
    r"(?P<kind>.)?",
    re.DOTALL,
)
_SPEC = re.compile(
    r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)[,_]?(?:\.(?P<precision>\d+))?[a-zA-Z%]?",
    re.DOTALL,
)
_TEXT = str | bytes


def binop_size(budget: Budget, operator: str, left: Any, right: Any) -> int | None:
    """Check ``left operator right`` before it runs; the predicted size of a list result.

    Returns the size (as :meth:`Budget.measure` counts it) when the result will be a list or
    tuple, else None. Raises OverBudget for a text, list or number too large.
    """
    if operator == "*":
        return _repetition(budget, left, right)
    if operator == "+":
        if isinstance(left, _TEXT) and isinstance(right, _TEXT):
            _check_text(len(left) + len(right))
        elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
            size = budget.measure(left) + budget.measure(right)
            if size > TEXT_LIMIT:
                raise too_long(size, written=True)
            return size
    elif operator == "**":
        _check_power(left, right)
    elif operator == "%" and isinstance(left, _TEXT):
        percent_size(budget, left, right)
    return None


def percent_size(budget: Budget, template: str | bytes, values: Any) -> int:
    """About how long ``template % values`` is; raises OverBudget past the limit.

    Counts the text of ``template`` plus, for every ``%`` field, the larger of its width and
    its value written out (``*`` widths are read from ``values`` as Python does).
    """
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    positional = list(values) if isinstance(values, tuple) else [values]
    mapping = values if isinstance(values, Mapping) else None
    total = len(text)
    for field in _PERCENT.finditer(text):
        kind = field["kind"]
        if kind is None or kind == "%":
            continue
        width = _count(field["width"], positional)
        precision = _count(field["precision"], positional)
        if field["key"] is not None:
            value = mapping.get(field["key"]) if mapping is not None else None
        else:
            value = positional.pop(0) if positional else None
        total += max(width, _field_size(budget, value, kind, precision))
    if total > TEXT_LIMIT:
        raise too_long(total)
    return total


def check_format_spec(spec: str) -> None:
    """Refuse a ``str.format`` field whose width or precision passes the limit."""
    parts = _SPEC.fullmatch(spec)
    if parts is None:  # a date's or another value's own format: as long as it is written
        return
    for number in (parts["width"], parts["precision"]):
        if number and (len(number) > _DIGITS_LIMIT or int(number) > TEXT_LIMIT):
            raise too_long(int(number) if len(number) <= _DIGITS_LIMIT else TEXT_LIMIT + 1)


def method_args(
    budget: Budget, method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """Check a call of a text or number method before it runs; the arguments to call it with.

    ``join`` gets its items as a list (they are counted first, so an iterator is consumed
    here); every other call keeps ``args``.
    """
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if isinstance(owner, _TEXT):
        check = _TEXT_METHODS.get(name)
        if check is not None:
            return check(budget, owner, args, kwargs)
    elif isinstance(owner, int) and name == "to_bytes":
        _padding(budget, owner, args, kwargs)
    return args


def _repetition(budget: Budget, left: Any, right: Any) -> int | None:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > NUMBER_BITS_LIMIT:
            raise _too_large_number()
        return None
    for sequence, count in ((left, right), (right, left)):
        if not isinstance(count, int):
            continue
        if isinstance(sequence, _TEXT):
            _check_text(len(sequence) * count)
        elif isinstance(sequence, list | tuple):
            if len(sequence) * count > TEXT_LIMIT:
                raise too_long(len(sequence) * count, items=True)
            size = budget.measure(sequence) * max(count, 0)
            if size > TEXT_LIMIT:
                raise too_long(size, written=True)
            return size
    return None


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return
    if exponent > 0 and abs(base) > 1 and exponent * abs(base).bit_length() > NUMBER_BITS_LIMIT:
        raise _too_large_number()


def _too_large_number() -> OverBudget:
    return OverBudget("computes a number too large to print")


def _check_text(size: int) -> None:
    if size > TEXT_LIMIT:
        raise too_long(size)


def _count(spec: str | None, positional: list[Any]) -> int:
    if not spec:
        return 0
    if spec == "*":
        value = positional.pop(0) if positional else 0
        return value if isinstance(value, int) else 0
    return int(spec) if len(spec) <= _DIGITS_LIMIT else TEXT_LIMIT + 1


def _field_size(budget: Budget, value: Any, kind: str, precision: int) -> int:
    if kind in "sra":
        size = budget.measure(value)
        if kind != "s":
            return size * 10  # repr() may escape a character as \U0001f600
        return min(size, precision) if precision else size
    if kind in "diouxXc":
        digits = value.bit_length() // 3 + 2 if isinstance(value, int) else 2
        return max(digits, precision)
    if kind in "eEfFgG":
        return 320 + precision  # the integer part of a float has at most 309 digits
    return 0


def _padding(
    budget: Budget, text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    # center, ljust, rjust, zfill and to_bytes: the result is as wide as the number asked.
    for value in (*args, *kwargs.values()):
        if isinstance(value, int):
            _check_text(value)
    return args


def _expandtabs(
    budget: Budget, text: str | bytes, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    size = args[0] if args else kwargs.get("tabsize", 8)
    if isinstance(size, int):
        tabs = text.count("\t") if isinstance(text, str) else text.count(b"\t")
        _check_text(len(text) + tabs * max(size - 1, 0))
    return args


def _replace(
    budget: Budget, text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    if len(args) < 2 or type(args[0]) is not type(args[1]) or not isinstance(args[0], _TEXT):
        return args
    old, new = args[0], args[1]
    count = args[2] if len(args) > 2 else kwargs.get("count", -1)
    try:
        found = text.count(old) if old else len(text) + 1
    except TypeError:
        return args  # str.replace with bytes, say: Python says what is wrong
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    _check_text(len(text) + found * (len(new) - len(old)))
    return args


def _join(
    budget: Budget, separator: str | bytes, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    if len(args) != 1 or kwargs:
        return args
    items = list(args[0])
    size = len(separator) * max(len(items) - 1, 0)
    for item in items:
        size += len(item) if isinstance(item, _TEXT) else 0
        _check_text(size)
    _check_text(size)
    return (items,)


def _translate(
    budget: Budget, text: str | bytes, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    table = args[0] if args else None
    if isinstance(table, Mapping):
        longest = max((len(v) for v in table.values() if isinstance(v, _TEXT)), default=1)
        _check_text(len(text) * longest)
    return args


_TEXT_METHODS: dict[
    str, Callable[[Budget, Any, tuple[Any, ...], dict[str, Any]], tuple[Any, ...]]
] = {
    "center": _padding,
    "ljust": _padding,
    "rjust": _padding,
    "zfill": _padding,
    "expandtabs": _expandtabs,
    "replace": _replace,
    "join": _join,
    "translate": _translate,
}
