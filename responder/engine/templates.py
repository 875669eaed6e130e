"""Reply templates: Jinja2 text, rendered in a sandbox, chosen by the lead's language.

For the people who write templates
----------------------------------
A template is plain text with ``{{ ... }}`` for values and ``{% ... %}`` for logic; nothing
is HTML-escaped. The values available are::

    lead.id  lead.name  lead.first_name  lead.email  lead.phone  lead.tags  lead.locale
    lead.timezone  lead.custom_fields.<field>
    message.text  message.channel  message.received_at      (a time, in the lead's zone)
    match.<group>       the named groups of the rule's pattern, e.g. (?P<product>...)
    rule.name           the name of the rule that answers
    now                 the current time in the lead's time zone, e.g. {{ now.strftime("%H:%M") }}
    vars.<name>         the constants of the settings file

A value that is missing or empty prints as nothing, never as an error or as "None": with a
lead that has no name, ``Hi {{ lead.first_name }}!`` gives ``Hi !``. To say something
instead, write::

    Hi {{ lead.first_name | default("there") }}!

In these templates the plain ``default("there")`` already replaces a value that is missing,
empty or only spaces. (Stock Jinja replaces only a value that is entirely undefined, which a
lead with an empty name is not; authors write the plain form, so it does what they mean.)
``default("there", true)`` replaces every false value as well, such as ``0`` or an empty
list; use it only when a ``0`` should be replaced too.

Block tags on a line of their own (``{% if ... %}``) leave no blank line behind. Leading and
trailing whitespace of the reply is removed. A reply longer than :data:`MAX_REPLY_CHARS`
characters is cut to that length, ending with "…" so that the cut is visible.

Files live in the templates folder as ``NAME.j2``, with language variants ``NAME.ms.j2`` or
``NAME.ms-MY.j2``. A lead whose locale is ``ms-MY`` (or ``ms_MY``, any case) gets
``NAME.ms-MY.j2``, else ``NAME.ms.j2``, else ``NAME.j2``. Sub-folders are part of the name
(``faq/pricing.j2`` is ``faq/pricing``). Avoid dots in names: the last dotted part of a name
is read as a language when it looks like one (two or three letters). A template cannot
include, import or extend another one.

Safety
------
Templates run in Jinja's :class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`: attributes
starting with ``_`` and Python internals are refused (``''.__class__`` stops the render with
a :class:`~responder.errors.TemplateError`), lists and dicts cannot be modified, and
``str.format`` goes through the sandbox's formatter. Values from a lead are only ever data:
a message containing ``{{ ... }}`` is printed as written, never run. Dictionary keys take
precedence over dictionary methods, so a custom field called ``items`` or ``values`` prints
the field. Repetition (``"x" * n``), powers and the padding methods are limited in size so
that a slip cannot exhaust memory; loops are not limited in time (``range`` is capped at
100,000 items by the sandbox), so template authors remain trusted not to write endless work.
"""

from __future__ import annotations

import re
import traceback
import types
from collections.abc import Callable, Generator, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.filters import do_center, do_indent
from jinja2.runtime import ChainableUndefined, Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from responder.engine.hours import load_timezone
from responder.engine.problems import Problem, Severity, display_path
from responder.errors import TemplateError
from responder.model import Lead, Message

__all__ = [
    "MAX_REPLY_CHARS",
    "Template",
    "TemplateLibrary",
    "build_context",
    "render",
]

MAX_REPLY_CHARS = 4096
"""Longest reply, in characters (WhatsApp's limit for one text message)."""

_CUT_MARK = "…"
_SIZE_LIMIT = 100_000  # largest string or list an operator or padding call may build
_POWER_BITS_LIMIT = 4_096
_PADDING_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")
_FORBIDDEN_TAGS = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
}


class Template:
    """One compiled reply template.

    ``name`` is the template's name (``welcome``) or, for an inline text, the rule's name;
    ``origin`` says where it came from: a file path (``templates/welcome.ms.j2``) or the
    place of an inline text (``rules/faq.yaml:12``). ``locale`` is the language of a file
    variant, ``""`` for a default file and for inline texts.
    """

    __slots__ = ("_compiled", "_file", "_first_line", "_globals", "locale", "name", "origin")

    def __init__(
        self,
        *,
        name: str,
        origin: str,
        locale: str,
        compiled: jinja2.Template,
        file: str,
        first_line: int,
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

    def __repr__(self) -> str:
        return f"Template(name={self.name!r}, origin={self.origin!r})"

    def _where(self, template_line: int) -> str:
        if not template_line:
            return self.origin
        return f"{self._file}:{self._first_line + template_line - 1}"


class TemplateLibrary:
    """Every ``*.j2`` file of a templates folder, compiled once when the library is made.

    A folder that does not exist gives an empty library (rules may use inline texts only);
    a rule that names a missing template is the rule loader's finding. Files that cannot be
    read or do not compile are left out and reported in :attr:`problems` with file and line;
    the library never raises for them. Warnings (severity ``warning``) are added for an empty
    file and for a template that has language variants but no default file.

    One sandbox environment is made per library and shared by its file and inline
    templates, so rendering does no compiling and no set-up.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.problems: list[Problem] = []
        self._env = _ReplyEnvironment()
        self._variants: dict[str, dict[str, Template]] = {}
        self._load()

    @property
    def directory_name(self) -> str:
        """The folder as its author knows it: relative to the working folder when inside it."""
        return display_path(self.directory)

    def names(self) -> list[str]:
        """The names of all templates that compiled, sorted."""
        return sorted(self._variants)

    def has(self, name: str) -> bool:
        """True when at least one file (default or language variant) exists for ``name``."""
        return name in self._variants

    def locales(self, name: str) -> list[str]:
        """The languages present for ``name``, ``""`` standing for the default file.

        Sorted, ``""`` first; languages are written in their usual case (``ms-MY``). Empty
        for an unknown name.
        """
        return sorted(template.locale for template in self._variants.get(name, {}).values())

    def select(self, name: str, locale: str) -> Template:
        """The file of ``name`` that fits ``locale`` best.

        ``ms-MY`` (also ``ms_MY``, ``MS-my``, ``ms_MY.UTF-8``) tries ``NAME.ms-MY.j2``, then
        ``NAME.ms.j2``, then ``NAME.j2``. Raises KeyError when there is no file at all for
        ``name``, and :class:`~responder.errors.TemplateError` when there are only language
        variants and none fits ``locale``.
        """
        variants = self._variants.get(name)
        if not variants:
            raise KeyError(f"there is no template named '{name}'")
        for key in _fallbacks(locale):
            if key in variants:
                return variants[key]
        raise TemplateError(
            f"the template '{name}' has no file for the language '{locale or 'none'}' "
            f"and no default file {name}.j2"
        )

    def inline(
        self, source: str, *, file: str, line: int, rule: str = ""
    ) -> tuple[Template | None, list[Problem]]:
        """Compile an inline reply text written in a rule file; never raises for its content.

        ``file`` and ``line`` say where the text starts (its first line): a mistake on the
        text's third line is reported at ``line + 2``. ``rule`` names the rule in the
        problems. Returns ``(template, [])`` when the text compiles and ``(None, problems)``
        when it does not (syntax error, forbidden tag, empty text), so that a loader
        collecting every problem of a rule book writes::

            template, found = library.inline(text, file=path, line=line, rule=name)
            problems.extend(found)
        """
        origin = f"{file}:{line}"
        if not source.strip():
            empty = "the reply text is empty, so there is nothing to send"
            return None, [Problem(file, line, empty, rule)]
        template, problems = self._compile(
            source, name=rule or origin, origin=origin, locale="", file=file, first_line=line
        )
        return template, [_with_rule(problem, rule) for problem in problems]

    def _load(self) -> None:
        if not self.directory.exists():
            return
        if not self.directory.is_dir():
            self.problems.append(
                Problem(self.directory_name, 0, "the templates folder is a file, not a folder")
            )
            return
        for path in sorted(self.directory.rglob("*.j2")):
            if path.is_file():
                self._load_file(path)
        for name, variants in sorted(self._variants.items()):
            if "" not in variants:
                first = next(iter(variants.values()))
                self.problems.append(
                    Problem(
                        first.origin,
                        0,
                        f"the template '{name}' has no default file {name}.j2, so a lead "
                        f"whose language has no file of its own gets no reply",
                        severity=Severity.WARNING,
                    )
                )

    def _load_file(self, path: Path) -> None:
        shown = display_path(path)
        name, locale = _split_name(path.relative_to(self.directory).as_posix()[: -len(".j2")])
        try:
            source = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            self.problems.append(Problem(shown, 0, "the file is not UTF-8 text; save it as UTF-8"))
            return
        except OSError as exc:
            self.problems.append(Problem(shown, 0, f"the file cannot be read ({exc.strerror})"))
            return
        if not source.strip():
            self.problems.append(
                Problem(
                    shown,
                    0,
                    "the file is empty, so it would send nothing",
                    severity=Severity.WARNING,
                )
            )
        template, problems = self._compile(
            source, name=name, origin=shown, locale=locale, file=shown, first_line=1
        )
        self.problems.extend(problems)
        if template is None:
            return
        variants = self._variants.setdefault(name, {})
        key = _locale_key(locale)
        if key in variants:
            self.problems.append(
                Problem(
                    shown,
                    0,
                    f"{variants[key].origin} and this file are both the "
                    f"{locale or 'default'} file of '{name}'; keep only one",
                )
            )
            return
        variants[key] = template

    def _compile(
        self, source: str, *, name: str, origin: str, locale: str, file: str, first_line: int
    ) -> tuple[Template | None, list[Problem]]:
        filename = f"{origin} (reply template)"
        try:
            tree = self._env.parse(source, name=name, filename=filename)
            forbidden = [
                Problem(
                    file,
                    first_line + (node.lineno or 1) - 1,
                    f"a template cannot use '{{% {_FORBIDDEN_TAGS[type(node)]} %}}'; "
                    f"write the text into the template itself",
                )
                for node in tree.find_all(tuple(_FORBIDDEN_TAGS))
            ]
            if forbidden:
                return None, forbidden
            code = self._env.compile(tree, name=name, filename=filename)
        except TemplateSyntaxError as exc:
            return None, [
                Problem(
                    file,
                    first_line + (exc.lineno or 1) - 1,
                    f"the template has a mistake: {exc.message or 'it cannot be read'}",
                )
            ]
        compiled = self._env.template_class.from_code(
            self._env, code, self._env.make_globals(None), None
        )
        template = Template(
            name=name,
            origin=origin,
            locale=locale,
            compiled=compiled,
            file=file,
            first_line=first_line,
        )
        return template, []


def render(template: Template, context: Mapping[str, object]) -> str:
    """Fill ``template`` in with ``context`` (see :func:`build_context`) and return the reply.

    Surrounding whitespace is removed. A reply longer than :data:`MAX_REPLY_CHARS` is cut to
    ``MAX_REPLY_CHARS - 1`` characters (trailing spaces dropped) followed by "…", so the
    result never exceeds the limit and the cut shows; rendering stops as soon as the limit is
    passed, so a runaway loop does not build a huge text.

    Raises :class:`~responder.errors.TemplateError` with a sentence naming the template and
    line when the sandbox refuses something, a value is used in a way a missing value cannot
    be (``missing + 1``), a calculation fails (division by zero), an unknown filter is
    reached, or the reply comes out empty.
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
        line = _template_line(exc, compiled)
        raise TemplateError(f"the reply template {template._where(line)} {_explain(exc)}") from None
    finally:
        stream.close()
    text = "".join(parts)[:end]
    if not text:
        raise TemplateError(f"the reply template {template.origin} produced an empty reply")
    if len(text) > MAX_REPLY_CHARS:
        text = text[: MAX_REPLY_CHARS - len(_CUT_MARK)].rstrip() + _CUT_MARK
    return text


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
    """The values a template sees, as plain dicts (see the module docstring for the names).

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


class _ReplyEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the behaviour documented in the module docstring."""

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


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if callable(value) and not isinstance(value, Undefined):
        raise TemplateError(
            "prints a function instead of a value; add () to call it, like name.upper()"
        )
    return value


def _default(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
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


def _template_line(exc: BaseException, compiled: jinja2.Template) -> int:
    """The template line where ``exc`` happened (0 if it did not happen in the template)."""
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == compiled.filename and frame.lineno:
            # The frame is in the Python code Jinja generated; map it back to the template.
            line = compiled.get_corresponding_lineno(frame.lineno)
    return line


def _explain(exc: Exception) -> str:
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


def _split_name(stem: str) -> tuple[str, str]:
    folder, _, base = stem.rpartition("/")
    head, dot, suffix = base.rpartition(".")
    if dot and head and _LOCALE.fullmatch(suffix):
        return f"{folder}/{head}" if folder else head, _canonical_locale(suffix)
    return stem, ""


def _locale_key(locale: str) -> str:
    # POSIX locales carry an encoding and a modifier: ms_MY.UTF-8@euro
    return re.split(r"[.@]", locale.strip(), maxsplit=1)[0].replace("_", "-").lower()


def _canonical_locale(locale: str) -> str:
    parts = _locale_key(locale).split("-")
    shaped = [parts[0]]
    for part in parts[1:]:
        shaped.append(part.upper() if len(part) == 2 else part.title() if len(part) == 4 else part)
    return "-".join(shaped)


def _fallbacks(locale: str) -> list[str]:
    parts = [part for part in _locale_key(locale).split("-") if part]
    return ["-".join(parts[:count]) for count in range(len(parts), 0, -1)] + [""]


def _with_rule(problem: Problem, rule: str) -> Problem:
    if not rule or problem.rule:
        return problem
    return Problem(problem.file, problem.line, problem.message, rule, problem.severity)


@lru_cache(maxsize=256)
def _zone_or_none(name: str) -> ZoneInfo | None:
    # A lead's unknown zone must not break the reply: the settings' zone is used instead.
    if not name.strip():
        return None
    try:
        return load_timezone(name)
    except ValueError:
        return None
