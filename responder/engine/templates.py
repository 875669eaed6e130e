"""Reply templates: the compiled library of a templates folder, and rendering one into a reply.

:class:`TemplateLibrary` compiles every ``NAME.j2`` file (and ``NAME.LANG.j2`` variants) of a
folder once, reports what does not compile as :class:`~responder.engine.problems.Problem`
values, compiles inline texts of rule files, and picks the file that fits a lead's language.
:func:`render` fills a :class:`Template` in with the values of
:func:`~responder.engine.context.build_context`. Templates compile and run in
:class:`~responder.engine.jinja_env.ReplyEnvironment`; how authors write them is in
``docs/rules.md``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any, cast

import jinja2
from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from responder.engine.budget import RenderLimits, activate, deactivate
from responder.engine.folder import FolderFile, read_folder
from responder.engine.jinja_env import (
    ReplyEnvironment,
    explain_failure,
    failure_line,
    needs_budget,
)
from responder.engine.locales import fallbacks, locale_key, split_name
from responder.engine.problems import Problem, Severity, display_path
from responder.errors import TemplateError

__all__ = [
    "MAX_REPLY_CHARS",
    "Template",
    "TemplateLibrary",
    "render",
    "split_name",
]

MAX_REPLY_CHARS = 4096
"""Longest reply, in characters (WhatsApp's limit for one text message)."""

_CUT_MARK = "…"
_LIMITS = RenderLimits()
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

    __slots__ = (
        "_budgeted",
        "_compiled",
        "_file",
        "_first_line",
        "_globals",
        "locale",
        "name",
        "origin",
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
    the library never raises for them. Only ordinary files inside the folder are read: links
    (to files or folders), pipes and devices are reported, never opened
    (:mod:`responder.engine.folder`). Warnings (severity ``warning``) are added for an empty
    file and for a template that has language variants but no default file.

    One sandbox environment is made per library and shared by its file and inline
    templates, so rendering does no compiling and no set-up.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.problems: list[Problem] = []
        self._env = ReplyEnvironment()
        self._variants: dict[str, dict[str, Template]] = {}
        self._files: set[str] = set()
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

    def has_file(self, name: str) -> bool:
        """True when the folder has a file for ``name``, even one that could not be used.

        ``name`` is a template's name as :meth:`names` gives it. Every file that is not
        usable (not read, not compiled, a second file for the same language) has an error in
        :attr:`problems`, so a name for which ``has_file`` holds but :meth:`has` does not is
        already reported.
        """
        return name in self._files

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
        for key in fallbacks(locale):
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
        # Only ordinary files inside the folder: a link could make a reply of any file the
        # service can read (its environment, a key file). See responder.engine.folder.
        for entry in read_folder(self.directory, (".j2",), recursive=True):
            self._load_file(entry)
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

    def _load_file(self, entry: FolderFile) -> None:
        if not entry.name.endswith(".j2"):  # a refused folder: it names no template
            self.problems.append(Problem(entry.shown, 0, entry.refused))
            return
        shown = entry.shown
        name, locale = split_name(entry.name[: -len(".j2")])
        self._files.add(name)
        source = self._source(entry)
        if source is None:
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
        key = locale_key(locale)
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

    def _source(self, entry: FolderFile) -> str | None:
        """The text of a template file; None, with an error for the file, when there is none."""
        if entry.refused:
            self.problems.append(Problem(entry.shown, 0, entry.refused))
            return None
        if entry.error is not None:
            why = f"the file cannot be read ({entry.error.strerror})"
            self.problems.append(Problem(entry.shown, 0, why))
            return None
        try:
            return entry.text("utf-8-sig")
        except UnicodeDecodeError:
            self.problems.append(
                Problem(entry.shown, 0, "the file is not UTF-8 text; save it as UTF-8")
            )
            return None

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
        except (TemplateSyntaxError, RecursionError, SyntaxError, MemoryError) as exc:
            return None, [_compile_problem(exc, file, first_line)]
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
            budgeted=needs_budget(tree),
        )
        return template, []


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


def _compile_problem(exc: Exception, file: str, first_line: int) -> Problem:
    if isinstance(exc, TemplateSyntaxError):
        mistake = exc.message or "it cannot be read"
        line = first_line + (exc.lineno or 1) - 1
        return Problem(file, line, f"the template has a mistake: {mistake}")
    # Jinja's parser and Python's compiler give up on blocks or brackets nested hundreds
    # deep (RecursionError, SyntaxError); no reply needs that, and check must say so.
    message = "the template nests blocks or brackets too deeply to be read; write it flatter"
    return Problem(file, first_line, message)


def _with_rule(problem: Problem, rule: str) -> Problem:
    if not rule or problem.rule:
        return problem
    return Problem(problem.file, problem.line, problem.message, rule, problem.severity)
