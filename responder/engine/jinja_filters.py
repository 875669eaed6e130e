"""The filters reply templates may use: Jinja's own, each run under the render's budget.

:func:`budgeted_filters` returns the filter table of
:class:`~responder.engine.jinja_env.ReplyEnvironment`. Every filter but a few that can only
return what they are given or a number (:data:`AS_GIVEN`) is wrapped so that it

* checks the render's clock before it runs (a chain of slow filters stops at the next one);
* refuses, before running, arguments that would build something too large (the width of
  ``center`` and ``indent``, the size of ``batch`` and ``slice``, the ``%`` fields of
  ``format``, what ``replace``, ``wordwrap``, ``join`` and ``tojson`` would write);
* refuses an input longer than :data:`~responder.engine.budget.TEXT_LIMIT` for the filters
  that spend Python work on every item or word (sorting, grouping, ``title``, ``urlize``...);
* hands back its result through :meth:`~responder.engine.budget.Budget.keep`, which measures
  it and counts the items of a lazily produced sequence as they come.

Wrapped filters are marked ``pass_context``, which is also what keeps Jinja from running them
while compiling (it folds a filter of constants into its result otherwise): a template's
work all happens inside a render, under its budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import update_wrapper
from typing import Any, cast

from jinja2.filters import FILTERS, make_attrgetter
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg, pass_context

from responder.engine.budget import TEXT_LIMIT, Budget, OverBudget, current, too_long
from responder.engine.jinja_checks import percent_size

__all__ = ["AS_GIVEN", "budgeted_filters"]

AS_GIVEN = frozenset({"abs", "attr", "count", "d", "default", "first", "float", "int"})
AS_GIVEN |= {"length", "safe", "wordcount", "filesizeformat"}
"""The filters left as Jinja has them: they return their input, a part of it, or a number."""

# They do Python work for every item or word of their input.
_PER_ITEM = frozenset({"dictsort", "groupby", "max", "min", "pprint", "sort", "striptags"})
_PER_ITEM |= {"title", "tojson", "unique", "urlize", "wordwrap", "xmlattr"}

_ROUND_DIGITS_LIMIT = 400

Check = Callable[..., None]


def budgeted_filters(own: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """Jinja's filters with ``own`` (name -> function) replacing some, every one budgeted."""
    table: dict[str, Callable[..., Any]] = {**FILTERS, **own}
    table["join"], table["sum"] = _join, _sum
    for name, function in table.items():
        if name not in AS_GIVEN and function not in (_join, _sum):
            table[name] = _budgeted(name, function, _CHECKS.get(name))
    return table


def _budgeted(name: str, function: Callable[..., Any], check: Check | None) -> Callable[..., Any]:
    passes = _PassArg.from_obj(function)
    per_item = name in _PER_ITEM

    def budgeted(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current()
        budget.check_time()
        if per_item and isinstance(value, str | list | tuple | dict) and len(value) > TEXT_LIMIT:
            raise too_long(len(value), items=not isinstance(value, str))
        if check is not None:
            check(budget, value, *args, **kwargs)
        if passes is _PassArg.context:
            result = function(context, value, *args, **kwargs)
        elif passes is _PassArg.eval_context:
            result = function(context.eval_ctx, value, *args, **kwargs)
        elif passes is _PassArg.environment:
            result = function(context.environment, value, *args, **kwargs)
        else:
            result = function(value, *args, **kwargs)
        return budget.keep(result)

    update_wrapper(budgeted, function)
    return pass_context(budgeted)  # after update_wrapper, which copies the filter's marking


@pass_context
def _join(context: Context, value: Any, d: Any = "", attribute: Any = None) -> Any:
    budget = current()
    items = list(value)
    if attribute is not None:
        get = make_attrgetter(context.environment, attribute)
        items = [get(item) for item in items]
    size = len(str(d)) * max(len(items) - 1, 0)
    for item in items:
        size += 0 if isinstance(item, Undefined) else budget.measure(item)
        if size > TEXT_LIMIT:
            raise too_long(size)
    return budget.keep(FILTERS["join"](context.eval_ctx, items, d))


@pass_context
def _sum(context: Context, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    budget = current()
    budget.check_time()
    if attribute is not None:
        iterable = map(make_attrgetter(context.environment, attribute), iterable)
    if isinstance(start, int | float):
        return sum(iterable, start)
    # Adding up lists or texts: one checked ``+`` per item, as the template would write it.
    environment = cast(SandboxedEnvironment, context.environment)
    total = start
    for item in iterable:
        total = environment.call_binop(context, "+", total, item)
    return total


def _width(budget: Budget, value: Any, width: Any = 80, *rest: Any, **named: Any) -> None:
    if isinstance(width, int) and width > TEXT_LIMIT:
        raise too_long(width)


def _indent(budget: Budget, s: Any, width: Any = 4, *rest: Any, **named: Any) -> None:
    _width(budget, s, width)
    text = str(s)
    step = width if isinstance(width, int) else len(str(width))
    size = len(text) + (text.count("\n") + 1) * max(step, 0)
    if size > TEXT_LIMIT:
        raise too_long(size)


def _groups(budget: Budget, value: Any, count: Any = 1, *rest: Any, **named: Any) -> None:
    # batch(n) pads its last group to n items, slice(n) makes n groups.
    if isinstance(count, int) and count > TEXT_LIMIT:
        raise too_long(count, items=True)


def _round(budget: Budget, value: Any, precision: Any = 0, *rest: Any, **named: Any) -> None:
    if isinstance(precision, int) and abs(precision) > _ROUND_DIGITS_LIMIT:
        raise OverBudget("computes a number too large to print")


def _format(budget: Budget, value: Any, *args: Any, **kwargs: Any) -> None:
    percent_size(budget, str(value), kwargs or args)


def _replace(budget: Budget, s: Any, old: Any, new: Any, count: Any = None) -> None:
    text, old, new = str(s), str(old), str(new)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    size = len(text) + found * (len(new) - len(old))
    if size > TEXT_LIMIT:
        raise too_long(size)


def _wordwrap(
    budget: Budget, s: Any, width: Any = 79, words: Any = True, wrapstring: Any = None, *rest: Any
) -> None:
    text = str(s)
    size = len(text) + (len(text) + 1) * len(str(wrapstring or "\n"))
    if size > TEXT_LIMIT:
        raise too_long(size)


def _tojson(budget: Budget, value: Any, indent: Any = None) -> None:
    if indent is None:
        budget.measure(value)
        return
    step = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
    budget.measure(value, indent=max(step, 0) + 1)  # a new line and the indent per item


def _pprint(budget: Budget, value: Any) -> None:
    budget.measure(value, indent=1)


_CHECKS: dict[str, Check] = {
    "batch": _groups,
    "center": _width,
    "format": _format,
    "indent": _indent,
    "pprint": _pprint,
    "replace": _replace,
    "round": _round,
    "slice": _groups,
    "tojson": _tojson,
    "wordwrap": _wordwrap,
}
