"""Reply templates: the compiled library of a templates folder.

:class:`TemplateLibrary` compiles every ``NAME.j2`` file (and ``NAME.LANG.j2`` variants) of a
folder once, reports what does not compile as :class:`~responder.engine.problems.Problem`
values, compiles inline texts of rule files, and picks the file that fits a lead's language.
A compiled :class:`~responder.engine.rendering.Template` and :func:`render` live in
:mod:`responder.engine.rendering` (and are re-exported here). Templates compile and run in
:class:`~responder.engine.jinja_env.ReplyEnvironment`; how authors write them is in
``docs/rules.md``.
"""

from __future__ import annotations

import os
from pathlib import Path

from jinja2 import nodes
from jinja2.exceptions import TemplateSyntaxError

from responder.engine.folder import FolderFile, read_folder
from responder.engine.jinja_env import ReplyEnvironment, needs_budget
from responder.engine.locales import fallbacks, locale_key, split_name
from responder.engine.problems import Problem, Severity, display_path
from responder.engine.rendering import MAX_REPLY_CHARS, Template, render
from responder.engine.template_refs import find_references
from responder.errors import TemplateError

__all__ = [
    "MAX_REPLY_CHARS",
    "Template",
    "TemplateLibrary",
    "render",
    "split_name",
]

_FORBIDDEN_TAGS = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
}


class TemplateLibrary:
    """Every ``*.j2`` file of a templates folder, compiled once when the library is made.

    A folder that does not exist gives an empty library (rules may use inline texts only);
    a rule that names a missing template is the rule loader's finding. Files that cannot be
    read or do not compile are left out and reported in :attr:`problems` with file and line;
    the library never raises for them. Only ordinary files inside the folder are read: links
    (to files or folders), pipes and devices are reported, never opened
    (:mod:`responder.engine.folder`). A warning (severity ``warning``) is added for an empty
    file; a rule naming a template without a default file is the rule loader's finding.

    One sandbox environment is made per library and shared by its file and inline
    templates, so rendering does no compiling and no set-up.
    """

    def __init__(self, directory: Path | None) -> None:
        """Compile the templates of ``directory``; None gives a library with none."""
        self.directory = Path(directory or ".")
        self.problems: list[Problem] = []
        self._env = ReplyEnvironment()
        self._variants: dict[str, dict[str, Template]] = {}
        self._files: dict[str, set[str]] = {}  # name -> language keys of its files
        if directory is not None:
            self._load()

    @property
    def directory_name(self) -> str:
        """The folder as its author knows it: relative to the working folder when inside it."""
        return display_path(self.directory)

    @property
    def environment(self) -> ReplyEnvironment:
        """The sandbox the templates run in (its filters, tests and globals)."""
        return self._env

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

    def has_default_file(self, name: str) -> bool:
        """True when the folder has the default file ``NAME.j2``, even one not usable."""
        return "" in self._files.get(name, ())

    def variants(self, name: str) -> list[Template]:
        """Every usable file of ``name``, the default file first; empty for an unknown name."""
        found = self._variants.get(name, {})
        return [found[key] for key in sorted(found)]

    def misnamed_files(self, name: str) -> list[str]:
        """Files that look meant as template ``name`` but do not end in ``.j2``.

        ``welcome.txt``, ``welcome.j2.txt``, ``welcome.J2`` or ``welcome`` for ``welcome``;
        only file names are looked at, no file is opened.
        """
        folder, _, stem = name.rpartition("/")
        where = self.directory / folder if folder else self.directory
        try:
            entries = sorted(os.listdir(where)) if where.is_dir() else []
        except OSError:
            return []
        shown = self.directory_name + ("/" + folder if folder else "")
        return [
            f"{shown}/{entry}"
            for entry in entries
            if (entry == stem or entry.startswith(stem + ".")) and not entry.endswith(".j2")
        ]

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
        self, source: str, *, file: str, line: int, rule: str = "", locale: str = ""
    ) -> tuple[Template | None, list[Problem]]:
        """Compile an inline reply text written in a rule file; never raises for its content.

        ``file`` and ``line`` say where the text starts (its first line): a mistake on the
        text's third line is reported at ``line + 2``. ``rule`` names the rule in the
        problems; ``locale`` is the text's language when written per language. Returns
        ``(template, [])`` when the text compiles and ``(None, problems)``
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
            source, name=rule or origin, origin=origin, locale=locale, file=file, first_line=line
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

    def _load_file(self, entry: FolderFile) -> None:
        if not entry.name.endswith(".j2"):  # a refused folder: it names no template
            self.problems.append(Problem(entry.shown, 0, entry.refused))
            return
        shown = entry.shown
        name, locale = split_name(entry.name[: -len(".j2")])
        self._files.setdefault(name, set()).add(locale_key(locale))
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
            references=find_references(tree),
        )
        return template, []


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
