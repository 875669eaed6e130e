"""What a reply template refers to, read from its syntax tree without running it.

A value that does not exist prints as nothing (``{{ lead.firstname }}`` gives ""), so a typo
in a template sends a broken reply without any error. :func:`find_references` lists every
value a template names (``lead.first_name``, ``vars.shop_name``, ``match.order``...), every
filter and test, and every text in single braces that looks like a value; checking them
against what the template will see is :mod:`responder.engine.template_lint`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass

import re2
from jinja2 import meta, nodes

__all__ = ["Reference", "References", "find_references"]

# `{ lead.first_name }` in the text of a template: a value in single braces, sent as written.
_SINGLE_BRACES = re2.compile(r"\{\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\s*\}")


@dataclass(frozen=True, slots=True)
class Reference:
    """One use of a name in a template: ``root.key`` (``key`` empty for a bare name).

    ``line`` is 1-based within the template's own text.
    """

    root: str
    key: str
    line: int

    @property
    def written(self) -> str:
        return f"{self.root}.{self.key}" if self.key else self.root


@dataclass(frozen=True, slots=True)
class References:
    """Everything :func:`find_references` found in one template.

    ``names`` are the values the template uses without defining them itself (``lead``,
    ``vars``, or a misspelt ``leed``); ``keys`` the first part after one of them
    (``lead.first_name`` is root ``lead``, key ``first_name``), left out for a name the
    template sets itself; ``custom_fields`` the keys under ``lead.custom_fields``;
    ``filters`` and ``tests`` the filters (``| default``) and tests (``is defined``) used, as
    root ``filter`` / ``test``; ``braces`` the texts in single braces that look like a value
    (root is the whole text between the braces).
    """

    names: tuple[Reference, ...] = ()
    keys: tuple[Reference, ...] = ()
    custom_fields: tuple[Reference, ...] = ()
    filters: tuple[Reference, ...] = ()
    tests: tuple[Reference, ...] = ()
    braces: tuple[Reference, ...] = ()


def find_references(tree: nodes.Template) -> References:
    """The names, keys, filters, tests and single-brace texts of a parsed template."""
    every = list(tree.find_all(nodes.Node))  # one walk; most replies have a few dozen nodes
    # A template may set a name of its own ({% set lead = ... %}): its keys are its own.
    own = {n.name for n in every if isinstance(n, nodes.Name) and n.ctx in ("store", "param")}
    own |= {n.name for n in every if isinstance(n, nodes.Macro)}
    # Jinja's own scoping (a loop's name is not set after the loop) when the template sets
    # names at all; otherwise every name it reads comes from outside, without that cost.
    undeclared = (
        meta.find_undeclared_variables(tree)
        if own
        else {n.name for n in every if isinstance(n, nodes.Name)}
    )
    names: dict[str, Reference] = {}
    keys: list[Reference] = []
    custom: list[Reference] = []
    filters: list[Reference] = []
    tests: list[Reference] = []
    braces: list[Reference] = []
    for node in every:
        line = node.lineno or 1
        if isinstance(node, nodes.Name):
            if node.ctx == "load" and node.name in undeclared:
                names.setdefault(node.name, Reference(node.name, "", line))
        elif isinstance(node, nodes.Getattr | nodes.Getitem):
            key = _key(node)
            inner = node.node
            if key is None:
                continue
            if isinstance(inner, nodes.Name):
                if inner.name in undeclared and inner.name not in own:
                    keys.append(Reference(inner.name, key, line))
            elif (
                isinstance(inner, nodes.Getattr | nodes.Getitem)
                and _key(inner) == "custom_fields"
                and isinstance(inner.node, nodes.Name)
                and inner.node.name == "lead"
                and "lead" not in own
            ):
                custom.append(Reference("lead.custom_fields", key, line))
        elif isinstance(node, nodes.Filter):
            filters.append(Reference("filter", node.name, line))
        elif isinstance(node, nodes.Test):
            tests.append(Reference("test", node.name, line))
        elif isinstance(node, nodes.TemplateData) and "{" in node.data:
            braces += _single_braces(node.data, line)
    return References(
        names=tuple(sorted(names.values(), key=lambda r: r.line)),
        keys=tuple(keys),
        custom_fields=tuple(custom),
        filters=tuple(filters),
        tests=tuple(tests),
        braces=tuple(braces),
    )


def _key(node: nodes.Getattr | nodes.Getitem) -> str | None:
    """The key of ``x.key`` or ``x["key"]``; None for ``x[1]`` or ``x[some_value]``."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _single_braces(text: str, first_line: int) -> list[Reference]:
    found = []
    for match in _SINGLE_BRACES.finditer(text):
        start, end = match.span()
        # `{{{ x }}}` and the like are Jinja's business; only a lone pair is a slip.
        if text[start - 1 : start] == "{" or text[end : end + 1] == "}":
            continue
        found.append(Reference(match.group(1), "", first_line + text.count("\n", 0, start)))
    return found
