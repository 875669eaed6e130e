"""The hardened Jinja environment reply templates compile and run in, and its failure sentences.

:class:`ReplyEnvironment` is Jinja's immutable sandbox, tightened: no HTML escaping, a missing
or ``None`` value prints as nothing, ``default(...)`` also replaces an empty or blank string,
dictionary keys win over dictionary methods, touching an unsafe attribute stops the render
instead of printing nothing, and repetition, powers and padding are capped in size. Loops are
not limited in time (the sandbox caps ``range``); template authors are trusted with that.

:func:`failure_line` and :func:`explain_failure` turn an exception raised while rendering into
the template line and the sentence a rule author reads.
"""

from __future__ import annotations

import traceback
import types
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.filters import do_center, do_indent
from jinja2.runtime import ChainableUndefined, Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from responder.errors import TemplateError

__all__ = ["ReplyEnvironment", "explain_failure", "failure_line"]

_SIZE_LIMIT = 100_000  # largest string or list an operator or padding call may build
_POWER_BITS_LIMIT = 4_096
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class ReplyEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox every reply template runs in (see the module docstring for what it changes).

    Its refusals raise :class:`~jinja2.exceptions.SecurityError` (or
    :class:`~responder.errors.TemplateError` for printing a function) during the render.
    """

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(
            autoescape=False,
            undefined=ChainableUndefined,
            finalize=_finalize,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,
        )
        # lipsum(n) makes filler text of any size; a reply never needs it.
        self.globals.pop("lipsum", None)
        self.filters["default"] = self.filters["d"] = _default
        self.filters["center"] = _center
        self.filters["indent"] = _indent

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        # Stock Jinja returns an undefined that prints as nothing; stopping is clearer.
        raise SecurityError(
            f"tries to use '{attribute}' of a {type(obj).__name__} value, which reply "
            f"templates may not touch"
        )

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_repetition(left, right)
        elif operator == "**":
            _check_power(left, right)
        return super().call_binop(context, operator, left, right)

    def call(
        __self,
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if not __self.is_safe_callable(__obj):
            raise SecurityError("tries to call something reply templates may not call")
        if (
            isinstance(__obj, types.BuiltinMethodType)
            and isinstance(getattr(__obj, "__self__", None), str)
            and __obj.__name__ in _PADDING_METHODS
        ):
            for value in (*args, *kwargs.values()):
                if isinstance(value, int):
                    _check_size(value)
        return super().call(__context, __obj, *args, **kwargs)


def failure_line(exc: BaseException, compiled: jinja2.Template) -> int:
    """The line of ``compiled``'s template where ``exc`` happened (0 if not in the template)."""
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == compiled.filename and frame.lineno:
            # The frame is in the Python code Jinja generated; map it back to the template.
            line = compiled.get_corresponding_lineno(frame.lineno)
    return line


def explain_failure(exc: Exception) -> str:
    """What went wrong, as the end of a sentence starting "the reply template X ..."."""
    kinds: list[tuple[type[Exception], Callable[[Exception], str]]] = [
        (TemplateError, str),
        (SecurityError, str),
        (
            UndefinedError,
            lambda e: (
                f"uses a value that is not there ({e}); if it may be missing, "
                f"give it a fallback, like (value | default(0))"
            ),
        ),
        (ZeroDivisionError, lambda e: "divides by zero"),
        (RecursionError, lambda e: "calls itself without end"),
        (OverflowError, lambda e: f"asks for something too large ({e})"),
        (jinja2.TemplateError, lambda e: f"cannot be filled in: {e}"),
    ]
    for kind, sentence in kinds:
        if isinstance(exc, kind):
            return sentence(exc)
    return f"cannot be filled in: {exc}"


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if callable(value) and not isinstance(value, Undefined):
        raise TemplateError(
            "prints a function instead of a value; add () to call it, like name.upper()"
        )
    return value


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    # Stock Jinja replaces only an undefined value; a lead's empty name is a value, and
    # authors writing default("there") mean it for that name too.
    if isinstance(value, Undefined) or value is None:
        return default_value
    if isinstance(value, str) and not value.strip():
        return default_value
    if boolean and not value:
        return default_value
    return value


def _center(value: str, width: int = 80) -> str:
    _check_size(width)
    return do_center(value, width)


def _indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    if isinstance(width, int):
        _check_size(width)
    return do_indent(s, width, first, blank)


def _check_size(size: int) -> None:
    if size > _SIZE_LIMIT:
        raise SecurityError(f"asks for a text of {size:,} characters, more than a reply can use")


def _check_repetition(left: Any, right: Any) -> None:
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and isinstance(count, int):
            _check_size(len(sequence) * count)


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return
    if exponent > 0 and abs(base) > 1 and exponent * abs(base).bit_length() > _POWER_BITS_LIMIT:
        raise SecurityError("computes a number too large to print")
