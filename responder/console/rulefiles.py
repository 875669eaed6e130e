"""The rules folder as the console edits it: round-trip YAML that keeps comments and order.

Every rule file is read with ruamel.yaml's round-trip loader and written back by the same
library, so a change to one rule leaves every other line of the file as it was (comments,
quotes, blank lines, key order): people who keep their rules in git see a clean diff. A key
the form adds goes where the rules guide lists it, not at the end. Files are replaced
atomically (a rename), so the service's watcher and a concurrent reader never see half a file.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from responder.engine.folder import read_folder
from responder.engine.validation import RULE_KEYS

LIST_KEYS = ("keywords", "all", "exclude", "examples", "counterexamples")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\.ya?ml")


class FileProblem(Exception):
    """A rule file the console cannot edit as it is (not YAML, no list of rules); the message
    says what to do."""


@dataclass(frozen=True)
class RuleEntry:
    """One rule as written: its file, its place in that file's list, and its keys."""

    file: str
    index: int
    data: CommentedMap

    @property
    def name(self) -> str:
        return str(self.data.get("name") or f"rule {self.index + 1}")

    @property
    def enabled(self) -> bool:
        return self.data.get("enabled", True) is not False


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long line: the diff stays on the line that changed
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def rule_files(rules_dir: Path) -> list[str]:
    """The rule files' names, in the order the service reads them."""
    if not rules_dir.is_dir():
        return []
    return [f.name for f in read_folder(rules_dir, (".yaml", ".yml"), recursive=False)]


def path_of(rules_dir: Path, file: str) -> Path:
    """The file ``file`` of the folder; FileProblem for a name that is not one of its files."""
    if not FILE_NAME.fullmatch(file) or file not in rule_files(rules_dir):
        raise FileProblem(f"There is no rule file called '{file}'.")
    return rules_dir / file


def parse(text: str) -> CommentedMap:
    """A rule file's text as a round-trip document; FileProblem when it cannot be edited."""
    try:
        document = _yaml().load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise FileProblem(
            f"This file is not valid YAML{where}; fix it in the Raw tab first."
        ) from None
    if document is None:
        document = CommentedMap()
    if not isinstance(document, CommentedMap):
        raise FileProblem("This file must start with 'rules:'; fix it in the Raw tab first.")
    rules = document.get("rules")
    if rules is None:
        document["rules"] = CommentedSeq()
    elif not isinstance(rules, CommentedSeq):
        raise FileProblem("'rules' in this file is not a list; fix it in the Raw tab first.")
    return document


def dump(document: CommentedMap) -> str:
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def load(rules_dir: Path, file: str) -> CommentedMap:
    return parse(path_of(rules_dir, file).read_text(encoding="utf-8"))


def entries(rules_dir: Path) -> tuple[list[RuleEntry], dict[str, str]]:
    """Every rule of the folder in order, and the files that cannot be read (name -> why)."""
    found: list[RuleEntry] = []
    broken: dict[str, str] = {}
    for file in rule_files(rules_dir):
        try:
            document = load(rules_dir, file)
        except (FileProblem, OSError, UnicodeDecodeError) as exc:
            broken[file] = str(exc)
            continue
        for index, data in enumerate(document["rules"]):
            if isinstance(data, CommentedMap):
                found.append(RuleEntry(file, index, data))
    return found, broken


def write(rules_dir: Path, file: str, text: str) -> None:
    """Replace (or create) the file's text in one step (a rename)."""
    if not FILE_NAME.fullmatch(file):
        raise FileProblem(f"'{file}' cannot be a rule file's name.")
    rules_dir.mkdir(parents=True, exist_ok=True)
    target = rules_dir / file
    fd, scratch = tempfile.mkstemp(prefix=f".{file}.", dir=rules_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


def rule_at(document: CommentedMap, index: int) -> CommentedMap:
    rules = document["rules"]
    if not 0 <= index < len(rules) or not isinstance(rules[index], CommentedMap):
        raise FileProblem("That rule is no longer there; the rules changed meanwhile.")
    rule: CommentedMap = rules[index]
    return rule


def set_key(rule: CommentedMap, key: str, value: Any) -> None:
    """Set ``key`` (None removes it), leaving it untouched when it already has that value."""
    if value is None or value == "" or value == []:
        if key in rule:
            del rule[key]
        return
    if key in rule and _plain(rule[key]) == _plain(value):
        return
    if key in rule:
        rule[key] = _styled(key, value, rule[key])
        return
    rule.insert(_position(rule, key), key, _styled(key, value, None))


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, bool):
        return value
    return str(value).rstrip("\n") if value is not None else None


def _styled(key: str, value: Any, old: Any) -> Any:
    if isinstance(value, list):
        seq = CommentedSeq(str(v) for v in value)
        flow = old.fa.flow_style() if isinstance(old, CommentedSeq) else True
        if flow:
            seq.fa.set_flow_style()
        else:
            seq.fa.set_block_style()
        return seq
    if key == "text" and isinstance(value, str):
        return (
            LiteralScalarString(value + "\n") if "\n" in value else DoubleQuotedScalarString(value)
        )
    return value


def _position(rule: CommentedMap, key: str) -> int:
    """Where a key the form adds goes: in its place in the order the rules guide writes a
    rule's keys (RULE_KEYS), after the keys before it."""
    rank = RULE_KEYS.index(key) if key in RULE_KEYS else len(RULE_KEYS)
    position = 0
    for place, existing in enumerate(rule):
        existing_rank = RULE_KEYS.index(existing) if existing in RULE_KEYS else len(RULE_KEYS)
        if existing_rank <= rank:
            position = place + 1
    return position


def move(rules_dir: Path, file: str, index: int, up: bool) -> tuple[str, int]:
    """Move a rule one place up or down across the whole folder; where it is now.

    At the top (or bottom) of a file, it moves to the end of the file before (or the start of
    the file after): the service reads the files one after the other.
    """
    files = rule_files(rules_dir)
    document = load(rules_dir, file)
    rules = document["rules"]
    rule_at(document, index)
    target = index - 1 if up else index + 1
    if 0 <= target < len(rules):
        rules.insert(target, rules.pop(index))
        write(rules_dir, file, dump(document))
        return file, target
    neighbour = files.index(file) + (-1 if up else 1)
    if not 0 <= neighbour < len(files):
        return file, index  # already first (or last)
    other_name = files[neighbour]
    other = load(rules_dir, other_name)
    item = rules.pop(index)
    place = len(other["rules"]) if up else 0
    other["rules"].insert(place, item)
    write(rules_dir, other_name, dump(other))
    write(rules_dir, file, dump(document))
    return other_name, place


def switch(rules_dir: Path, file: str, index: int, on: bool) -> str:
    """Switch a rule on or off; its name."""
    document = load(rules_dir, file)
    rule = rule_at(document, index)
    set_key(rule, "enabled", None if on else False)
    write(rules_dir, file, dump(document))
    return str(rule.get("name") or "")


def new_rule_place(document: CommentedMap) -> int:
    """Where a new rule goes: above the first rule that answers without words (an after-hours
    or welcome or fallback rule), so that those keep answering only what no other rule does."""
    for index, rule in enumerate(document["rules"]):
        if isinstance(rule, CommentedMap) and not any(
            k in rule for k in ("keywords", "all", "regex")
        ):
            return index
    return len(document["rules"])


def add_example(rules_dir: Path, name: str, text: str) -> bool:
    """Add ``text`` to the examples of the rule called ``name``; False when it is one already.

    The file is saved the way the Edit page saves it: round trip, every other line kept."""
    for entry in entries(rules_dir)[0]:
        if entry.name != name:
            continue
        document = load(rules_dir, entry.file)
        rule = rule_at(document, entry.index)
        examples = [str(e) for e in rule.get("examples") or []]
        if text in examples:
            return False
        set_key(rule, "examples", [*examples, text])
        write(rules_dir, entry.file, dump(document))
        return True
    raise FileProblem(f"There is no rule '{name}' any more; the rules changed meanwhile.")
