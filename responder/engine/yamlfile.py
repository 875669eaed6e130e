"""Safe YAML loading that remembers where every key was written.

Rule authors need ``file:line`` in every message, which ``yaml.safe_load`` throws away. This
loader is ``yaml.SafeLoader`` (same tags, same values: no Python objects can be built) whose
mappings come back as :class:`Located` dicts carrying the line of the mapping and of each key.
Duplicate keys, which YAML would silently collapse to the last one, are reported instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2
import yaml
from yaml.nodes import MappingNode, Node


class Located(dict[str, Any]):
    """A mapping from a YAML file, with 1-based line numbers for itself and its keys."""

    line: int
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


@dataclass(frozen=True, slots=True)
class YamlProblem:
    line: int
    message: str


# libyaml's parser when PyYAML was built with it (several times faster on a large rule book),
# with the same safe constructor either way.
_SafeBase: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LocatingLoader(_SafeBase):  # type: ignore[valid-type,misc]
    """SafeLoader whose mappings are :class:`Located` and whose duplicate keys are noted."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[YamlProblem] = []

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        assert isinstance(node, MappingNode)
        self.flatten_mapping(node)
        mapping = Located()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                key = str(key)
            line = key_node.start_mark.line + 1
            if key in mapping:
                self.duplicates.append(
                    YamlProblem(line, f"'{key}' is written twice here; keep only one of them")
                )
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = line
        return mapping


_LocatingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _LocatingLoader.construct_mapping,
)


def load_yaml(text: str) -> tuple[Any, list[YamlProblem]]:
    """Parse one YAML document with safe semantics.

    Returns the data (``None`` for an empty file) and the duplicate-key problems. Raises
    :class:`ValueError` with ``(line, sentence)`` as its args when the text is not valid YAML.
    """
    loader = _LocatingLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        what = exc.problem or "the text is not valid YAML"
        lines = text.splitlines()
        written = lines[line - 1] if 0 < line <= len(lines) else ""
        raise ValueError(
            line, f"this is not valid YAML: {what}{_yaml_hint(what, written)}"
        ) from None
    except yaml.YAMLError as exc:
        raise ValueError(0, f"this is not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    return data, loader.duplicates


def _yaml_hint(problem: str, written: str) -> str:
    """The likely cause of a YAML mistake in plain words, from the message and its line."""
    indent = written[: len(written) - len(written.lstrip())]
    if "\t" in indent or "tab" in problem or "found character '\\t'" in problem:
        return " (indent with spaces, not tabs: this line starts with a tab)"
    if "{{" in written and not re2.search(r":\s*['\"]", written):
        return ' (put the reply in quotes, like  text: "Hi {{ lead.first_name }}!")'
    if "escape" in problem or ("\\" in written and '"' in written):
        return (
            " (use single quotes for patterns, like  regex: 'order\\s*(\\d+)': inside double "
            "quotes a backslash means something else)"
        )
    if "mapping values are not allowed" in problem:
        return " (a ':' inside a value needs quotes around the whole value)"
    if "expected key" in problem or "expected '-'" in problem or "block end" in problem:
        return (
            " (check the indent of this line: with spaces, the keys of one rule line up "
            "under each other)"
        )
    return ""
