"""One compiled reply template, and filling it in with a lead's values to make the reply.

:class:`Template` is what :class:`~responder.engine.templates.TemplateLibrary` compiles from a
file or an inline text; :func:`render` fills it in with the values of
:func:`~responder.engine.context.build_context`, under the render limits, in
:class:`~responder.engine.jinja_env.ReplyEnvironment`.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any, cast

import jinja2

from responder.engine.budget import RenderLimits, activate, deactivate
from responder.engine.jinja_env import explain_failure, failure_line
from responder.engine.template_refs import References
from responder.errors import TemplateError

__all__ = ["MAX_REPLY_CHARS", "Template", "render"]

MAX_REPLY_CHARS = 4096
"""Longest reply, in characters (WhatsApp's limit for one text message)."""

_CUT_MARK = "…"
_LIMITS = RenderLimits()


class Template:
    """One compiled reply template.

    ``name`` is the template's name (``welcome``) or, for an inline text, the rule's name;
    ``origin`` says where it came from: a file path (``templates/welcome.ms.j2``) or the
    place of an inline text (``rules/faq.yaml:12``). ``locale`` is the language of a file
    variant, ``""`` for a default file and for inline texts. ``references`` are the values,
    filters and tests it names (:func:`~responder.engine.template_refs.find_references`).
    """

    __slots__ = (
        "_budgeted",
        "_compiled",
        "_file",
        "_first_line",
        "_globals",
        "locale",
        "name",
        "origin",
        "references",
    )

    def __init__(
        self,
        *,
        name: str,
        origin: str,
        locale: str,
        compiled: jinja2.Template,
        file: str,
        first_line: int,
        budgeted: bool = True,
        references: References | None = None,
    ) -> None:
        self.name = name
        self.origin = origin
        self.locale = locale
        self._compiled = compiled
        # Jinja merges its globals into every render's context through a ChainMap; doing it
        # here once, and rendering with a shared context, halves the cost of a reply.
        self._globals: dict[str, Any] = dict(compiled.globals)
        self._file = file
        self._first_line = first_line
        self._budgeted = budgeted  # False: nothing in it can take time (see needs_budget)
        self.references = references or References()

    def __repr__(self) -> str:
        return f"Template(name={self.name!r}, origin={self.origin!r})"

    def place(self, template_line: int) -> tuple[str, int]:
        """The file and line of line ``template_line`` (1-based) of the template's text."""
        return self._file, self._first_line + max(template_line, 1) - 1

    def _where(self, template_line: int) -> str:
        if not template_line:
            return self.origin
        return "{}:{}".format(*self.place(template_line))


def render(
    template: Template, context: Mapping[str, object], *, limits: RenderLimits = _LIMITS
) -> str:
    """Fill ``template`` in with ``context`` and return the reply.

    ``context`` is what :func:`~responder.engine.context.build_context` makes. Surrounding
    whitespace is removed. A reply longer than :data:`MAX_REPLY_CHARS` is cut to
    ``MAX_REPLY_CHARS - 1`` characters (trailing spaces dropped) followed by "…", so the
    result never exceeds the limit and the cut shows; rendering stops as soon as the limit is
    passed, so a runaway loop does not build a huge text.

    The render runs under ``limits`` (time, loop turns, calls, text built; see
    :class:`~responder.engine.budget.RenderLimits`) and the sandbox's size limits, enforced
    from inside the template's own steps, so a render over them stops there and then.

    Raises :class:`~responder.errors.TemplateError` with a sentence naming the template and
    line when the sandbox refuses something, the render goes over its limits, a value is
    used in a way a missing value cannot be (``missing + 1``), a calculation fails (division
    by zero), an unknown filter is reached, or the reply comes out empty.
    """
    compiled = template._compiled
    variables = {**template._globals, **context}
    stream = cast(
        Generator[str, None, None],
        compiled.root_render_func(compiled.new_context(variables, shared=True)),
    )
    parts: list[str] = []
    size = 0
    end = 0  # length up to the last non-whitespace character
    token = activate(limits) if template._budgeted else None
    try:
        for chunk in stream:
            if not parts:
                chunk = chunk.lstrip()
                if not chunk:
                    continue
            parts.append(chunk)
            if chunk.strip():
                end = size + len(chunk.rstrip())
            size += len(chunk)
            if end > MAX_REPLY_CHARS:
                break
    except Exception as exc:  # every failure inside a template becomes one sentence
        where = template._where(failure_line(exc, compiled))
        raise TemplateError(f"the reply template {where} {explain_failure(exc)}") from None
    finally:
        stream.close()
        if token is not None:
            deactivate(token)
    text = "".join(parts)[:end]
    if not text:
        raise TemplateError(f"the reply template {template.origin} produced an empty reply")
    if len(text) > MAX_REPLY_CHARS:
        text = text[: MAX_REPLY_CHARS - len(_CUT_MARK)].rstrip() + _CUT_MARK
    return text
