"""The hardened Jinja environment reply templates compile and run in, and its failure sentences.

:class:`ReplyEnvironment` is Jinja's immutable sandbox, tightened: no HTML escaping, a missing
or ``None`` value prints as nothing, ``default(...)`` also replaces an empty or blank string,
dictionary keys win over dictionary methods, and touching an unsafe attribute stops the render
instead of printing nothing.

Every render also runs under a budget (:mod:`responder.engine.budget`) that the sandbox
enforces from the inside, with no thread or timer:

* every loop turn is counted: the code generator (:class:`_ReplyCodeGenerator`, Jinja's
  ``code_generator_class`` hook) writes the iterable of every ``{% for %}`` as
  ``environment.loop_items(...)`` (:meth:`ReplyEnvironment.loop_items`), and the
  ``loop(...)`` call of a recursive loop is counted in :meth:`ReplyEnvironment.call`;
  ``range`` stays the sandbox's, capped at 100,000 items;
* every call (macro, function, method) is counted, its arguments checked before it runs
  (:func:`~responder.engine.jinja_checks.method_args`) and its result measured;
* ``+``, ``*``, ``**`` and ``%`` are intercepted operators, checked before they compute;
  intercepted operators are never folded into constants while compiling (the sandbox's
  ``BinExpr.as_const`` refuses), so ``'%999999999s' % 'a'`` is refused when it runs, not
  evaluated by ``check`` while compiling;
* ``str.format`` and ``format_map`` run through a formatter that checks every field's width
  and precision and the length of the whole;
* ``~``, list, tuple and dictionary literals, and the text of macros and blocks
  (``concat``) are measured as they are built; filters are budgeted in
  :mod:`responder.engine.jinja_filters`;
* a namespace prints as ``<namespace>``, so that a list holding a namespace cannot grow
  when the namespace changes after the list was measured.

:func:`failure_line` and :func:`explain_failure` turn an exception raised while rendering into
the template line and the sentence a rule author reads.
"""

from __future__ import annotations

import traceback
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import update_wrapper
from string import Formatter
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.runtime import (
    ChainableUndefined,
    Context,
    LoopContext,
    Undefined,
    markup_join,
    str_join,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import Namespace

from responder.engine.budget import TEXT_LIMIT, current, too_long
from responder.engine.jinja_checks import binop_size, check_format_spec, method_args
from responder.engine.jinja_filters import AS_GIVEN, budgeted_filters
from responder.errors import TemplateError

__all__ = [
    "ReplyEnvironment",
    "ReplyNamespace",
    "explain_failure",
    "failure_line",
    "needs_budget",
]

# What a template may hold and still reach none of the hooks below (plain text, values, ifs,
# comparisons, and the filters of AS_GIVEN): a render of it cannot take time or build much.
_UNHOOKED: frozenset[type[nodes.Node]] = frozenset(
    {nodes.Output, nodes.TemplateData, nodes.Const, nodes.Name, nodes.Getattr, nodes.Getitem}
    | {nodes.Slice, nodes.If, nodes.CondExpr, nodes.Compare, nodes.Operand, nodes.Test}
    | {nodes.Not, nodes.And, nodes.Or, nodes.Neg, nodes.Pos, nodes.Sub, nodes.Div}
    | {nodes.FloorDiv, nodes.Keyword}
)


def needs_budget(tree: nodes.Template) -> bool:
    """False when nothing in ``tree`` reaches a budget hook, so a render may skip the budget.

    Most replies are text with a few values in it; opening a budget costs about as much as
    filling such a reply in. Anything not known to be hook-free needs one; and a hook that
    runs without a budget still enforces the size limits (see
    :func:`~responder.engine.budget.current`).
    """
    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Filter):
            if node.name not in AS_GIVEN:
                return True
        elif type(node) not in _UNHOOKED:
            return True
    return False


class _ReplyCodeGenerator(CodeGenerator):
    """Jinja's code generator, writing the budget's hooks into the template's code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The iterables of the loops seen so far, by id: the tree is alive while it is
        # compiled, so no other node can have one of these ids. (Jinja refuses new node
        # types, which would have said this more directly.)
        self._loop_iterables: set[int] = set()

    def visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) not in self._loop_iterables:
            return super().visit(node, *args, **kwargs)
        self.write("environment.loop_items(")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        self._loop_iterables.add(id(node.iter))
        super().visit_For(node, frame)

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.join_texts((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        if frame.eval_ctx.volatile:  # {% autoescape %} decides when the template runs
            self.write("), context.eval_ctx.autoescape)")
        else:
            self.write(f"), {frame.eval_ctx.autoescape})")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._built(super().visit_List, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # an assignment target: `{% for key, value in ... %}`
            super().visit_Tuple(node, frame)
        else:
            self._built(super().visit_Tuple, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._built(super().visit_Dict, node, frame)

    def _built(self, visit: Callable[[Any, Frame], None], node: nodes.Expr, frame: Frame) -> None:
        try:  # a literal of constants is as large as its source: nothing to measure
            node.as_const(frame.eval_ctx)
        except nodes.Impossible:
            self.write("environment.built(")
            visit(node, frame)
            self.write(")")
        else:
            visit(node, frame)


class ReplyNamespace(Namespace):
    """``namespace()`` of reply templates; prints as ``<namespace>`` whatever it holds."""

    def __repr__(self) -> str:
        return "<namespace>"


class ReplyEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox every reply template runs in (see the module docstring for what it changes).

    Its refusals raise :class:`~jinja2.exceptions.SecurityError` (of which
    :class:`~responder.engine.budget.OverBudget` is one), or
    :class:`~responder.errors.TemplateError` for printing a function, during the render.
    """

    intercepted_binops = frozenset({"+", "*", "**", "%"})
    code_generator_class = _ReplyCodeGenerator

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
        self.globals["namespace"] = ReplyNamespace
        self.filters = budgeted_filters({"default": _default, "d": _default})

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
        budget = current()
        size = binop_size(budget, operator, left, right)
        result = self.binop_table[operator](left, right)
        if size is not None and isinstance(result, list | tuple):
            budget.remember(result, size)
            budget.spend(len(result))
        elif isinstance(result, str | bytes):
            budget.keep(result)
        return result

    def call(
        __self,
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        if not __self.is_safe_callable(__obj):
            raise SecurityError("tries to call something reply templates may not call")
        budget = current()
        budget.call()
        if isinstance(__obj, LoopContext) and args:  # loop(children) in a recursive loop
            args = (budget.loop(args[0]), *args[1:])
        else:
            args = method_args(budget, __obj, args, kwargs)
        return budget.keep(__context.call(__obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        # The sandbox's own, with a formatter that also checks sizes.
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
            value.__name__ not in ("format", "format_map")
        ):
            return None
        owner = value.__self__
        if not isinstance(owner, str):
            return None
        formatter = _SizedFormatter(self, escape=getattr(owner, "escape", None))
        is_format_map = value.__name__ == "format_map"
        text_type = type(owner)

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
                kwargs, args = args[0], ()
            return text_type(formatter.vformat(owner, args, kwargs))

        return update_wrapper(wrapper, value)

    @staticmethod
    def loop_items(iterable: Iterable[Any]) -> Iterator[Any]:
        """The items of a ``{% for %}``, charging a loop turn for each."""
        return current().loop(iterable)

    @staticmethod
    def join_texts(parts: tuple[Any, ...], autoescape: bool) -> str:
        """``a ~ b ~ c``, measured before it is joined."""
        budget = current()
        size = 0
        for part in parts:
            size += 0 if isinstance(part, Undefined) else budget.measure(part)
        if size > TEXT_LIMIT:
            raise too_long(size)
        text = markup_join(parts) if autoescape else str_join(parts)
        budget.spend(len(text))
        return text

    @staticmethod
    def built(value: Any) -> Any:
        """A list, tuple or dictionary literal, measured as it is built."""
        budget = current()
        budget.measure(value)
        budget.spend(len(value))
        return value

    @staticmethod
    def concat(parts: Iterable[str]) -> str:
        """The text of a macro, a ``{% set %}`` or ``{% filter %}`` block, measured first."""
        texts = parts if isinstance(parts, list) else list(parts)
        size = sum(map(len, texts))
        if size > TEXT_LIMIT:
            raise too_long(size)
        current().spend(size)
        return "".join(texts)


class _SizedFormatter(SandboxedFormatter):
    """The sandbox's ``str.format``, refusing a field or a whole text over the size limit."""

    def __init__(self, env: jinja2.Environment, escape: Callable[[Any], Any] | None) -> None:
        super().__init__(env)
        self._escape = escape  # a Markup text's format escapes what it fills in
        self._size = 0

    def vformat(self, format_string: str, args: Any, kwargs: Any) -> str:
        self._size = len(format_string)
        return super().vformat(format_string, args, kwargs)

    def format_field(self, value: Any, format_spec: str) -> str:
        check_format_spec(format_spec)
        text = str(Formatter.format_field(self, value, format_spec))
        if self._escape is not None:
            text = str(self._escape(text))
        self._size += len(text)
        if self._size > TEXT_LIMIT:
            raise too_long(self._size)
        current().spend(len(text))
        return text


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
        (SecurityError, str),  # the budget's OverBudget among them
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
        (MemoryError, lambda e: "needs more memory than a reply can use"),
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
