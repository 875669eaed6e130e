"""Validation of rule files: every problem at once, each with file:line and a plain sentence."""

from __future__ import annotations

import gc
import os
from datetime import timedelta
from pathlib import Path

import pytest

from responder.engine.loader import check_rulebook, load_rulebook
from responder.engine.problems import Problem
from responder.errors import RuleBookError
from tests.rulebooks import book_from, within, write_book


def problems_of(
    tmp_path: Path, rules: str | dict[str, str], templates: dict[str, str] | None = None
) -> list[Problem]:
    _, problems = check_rulebook(*write_book(tmp_path, rules, templates))
    return problems


def only_error(problems: list[Problem]) -> Problem:
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1, "\n".join(map(str, problems))
    return errors[0]


def test_a_valid_book_loads_in_order(tmp_path: Path) -> None:
    rules_dir, templates_dir = write_book(
        tmp_path,
        {
            "20-late.yaml": """
                rules:
                  - name: late
                    keywords: [late]
                    reply: answer
            """,
            "10-early.yaml": """
                rules:
                  - name: early
                    keywords: [early]
                    reply: answer
                  - name: catch-all
                    fallback: true
                    text: "Sorry"
            """,
        },
    )
    book = load_rulebook(rules_dir, templates_dir)
    assert [r.name for r in book.all_rules] == ["early", "catch-all", "late"]
    assert [r.name for r in book.fallbacks] == ["catch-all"]
    assert book.warnings == ()


@pytest.mark.parametrize(
    ("rules", "line", "fragment"),
    [
        (
            "rules:\n  - name: a\n    keyword: [x]\n    reply: answer\n",
            3,
            "'keyword' is not a rule key; did you mean 'keywords'?",
        ),
        ("rules:\n  - keywords: [x]\n    reply: answer\n", 2, "this rule has no name"),
        ("rules:\n  - name: a\n    keywords: [x]\n", 2, "exactly one of them"),
        (
            "rules:\n  - name: a\n    keywords: [x]\n    reply: answer\n    text: hi\n",
            2,
            "exactly one of them",
        ),
        (
            "rules:\n  - name: a\n    keywords: [x]\n    reply: nosuch\n",
            4,
            "there is no template file",
        ),
        (
            "rules:\n  - name: a\n    keywords: [x]\n    reply: answer\n    cooldown: 6x\n",
            5,
            "'6x' is not a duration",
        ),
        (
            "rules:\n  - name: a\n    keywords: [x]\n    reply: answer\n    pause: 12\n",
            5,
            "duration",
        ),
        ('rules:\n  - name: a\n    during: "mon-fri 25:00-18:00"\n    reply: answer\n', 3, "25:00"),
        (
            "rules:\n  - name: a\n    outside: ofice\n    reply: answer\n",
            3,
            "there are no hours called 'ofice'",
        ),
        ("rules:\n  - name: a\n    regex: '(?<=x)y'\n    reply: answer\n", 3, "RE2"),
        ('rules:\n  - name: a\n    keywords: [x]\n    text: "{{ lead.name "\n', 4, "template"),
        ("rules:\n  - name: off\n    keywords: [x]\n    reply: answer\n", 2, "in quotes"),
        ("rules:\n  - name: a\n    keywords: [yes, no]\n    reply: answer\n", 3, "in quotes"),
        ("rules:\n  - name: a\n    reply: answer\n", 2, "no condition"),
        (
            "rules:\n  - name: a\n    keywords: [x]\n    reply: answer\n  - name: a\n"
            "    keywords: [y]\n    reply: answer\n",
            5,
            "already called 'a'",
        ),
        (
            "rules:\n  - name: a\n    keywords: [x]\n    first_message: yes please\n    reply: answer\n",
            4,
            "must be true or false",
        ),
        ("rules:\n  - name: a\n    keywords: ['!!!']\n    reply: answer\n", 3, "'!!!'"),
        (
            "rules:\n  - name: a\n    keywords: [x]\n    reply: answer\n    keywords: [y]\n",
            5,
            "written twice",
        ),
        ("rules:\n  - name: a\n    keywords: [x\n", 4, "not valid YAML"),
        (
            "settings:\n  timezone: Asia/KL\nrules:\n  - name: a\n    keywords: [x]\n    reply: answer\n",
            2,
            "'Asia/KL' is not a known time zone",
        ),
        (
            "settings:\n  cooldwn: 1h\nrules:\n  - name: a\n    keywords: [x]\n    reply: answer\n",
            2,
            "did you mean 'cooldown'",
        ),
        ("rulez:\n  - name: a\n", 1, "did you mean 'rules'"),
        (
            "settings:\n  gather: 4\nrules:\n  - name: a\n    keywords: [x]\n    reply: answer\n",
            2,
            "add a unit",
        ),
        (
            "settings:\n  gather: 2m\nrules:\n  - name: a\n    keywords: [x]\n    reply: answer\n",
            2,
            "'gather' waits at most 30 seconds",
        ),
        (
            "rules:\n  - name: a\n    keywords: [x]\n    reply: answer\n    gather: soon\n",
            5,
            "'soon' is not a duration",
        ),
    ],
)
def test_each_error_is_reported_with_its_line(
    tmp_path: Path, rules: str, line: int, fragment: str
) -> None:
    problem = only_error(problems_of(tmp_path, rules))
    assert problem.file.endswith("rules.yaml")
    assert problem.line == line, str(problem)
    assert fragment in problem.message


def test_rule_errors_name_the_rule(tmp_path: Path) -> None:
    problem = only_error(
        problems_of(tmp_path, "rules:\n  - name: prices\n    keyword: [x]\n    reply: answer\n")
    )
    assert problem.rule == "prices"
    assert str(problem).endswith(
        "[rule prices]: 'keyword' is not a rule key; did you mean 'keywords'?"
    )


def test_all_problems_of_all_files_are_reported_at_once(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        {
            "a.yaml": "rules:\n  - name: a\n    keyword: [x]\n    reply: answer\n",
            "b.yaml": "rules:\n  - name: b\n    keywords: [x]\n    reply: missing\n  - name: c\n    reply: answer\n",
        },
    )
    found = {(Path(p.file).name, p.line) for p in problems if p.is_error}
    assert found == {("a.yaml", 3), ("b.yaml", 4), ("b.yaml", 5)}


def test_a_setting_may_be_set_in_one_file_only(tmp_path: Path) -> None:
    problem = only_error(
        problems_of(
            tmp_path,
            {
                "a.yaml": "settings:\n  cooldown: 1h\nrules: []\n",
                "b.yaml": "settings:\n  cooldown: 2h\nrules:\n  - name: a\n    keywords: [x]\n    reply: answer\n",
            },
        )
    )
    assert problem.file.endswith("b.yaml") and problem.line == 2
    assert "already set in" in problem.message and "a.yaml:2" in problem.message


def test_template_syntax_errors_carry_the_template_file_and_line(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        "rules:\n  - name: a\n    keywords: [x]\n    reply: broken\n",
        {"broken.j2": "Hello\n{% if %}\n"},
    )
    problem = only_error(problems)
    assert problem.file.endswith("broken.j2") and problem.line == 2


def test_load_rulebook_raises_with_every_problem(tmp_path: Path) -> None:
    rules_dir, templates_dir = write_book(
        tmp_path, "rules:\n  - name: a\n    keyword: [x]\n    reply: nosuch\n"
    )
    with pytest.raises(RuleBookError) as caught:
        load_rulebook(rules_dir, templates_dir)
    assert len([p for p in caught.value.problems if p.is_error]) == 2


def test_warns_about_very_short_keywords(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path, "rules:\n  - name: a\n    keywords: [ok, hello]\n    reply: answer\n"
    )
    assert [(p.severity.value, p.line) for p in problems] == [("warning", 3)]
    assert "'ok' is very short" in problems[0].message


def test_a_missing_rules_folder_is_an_error(tmp_path: Path) -> None:
    _, problems = check_rulebook(tmp_path / "nope", tmp_path)
    assert "does not exist" in only_error(problems).message


def test_disabled_rules_are_checked_but_not_loaded(tmp_path: Path) -> None:
    rules_dir, templates_dir = write_book(
        tmp_path,
        """
            rules:
              - name: retired
                enabled: false
                keywords: [x]
                reply: answer
              - name: active
                keywords: [x]
                reply: answer
        """,
    )
    assert [r.name for r in load_rulebook(rules_dir, templates_dir).all_rules] == ["active"]
    problem = only_error(
        problems_of(
            tmp_path / "b",
            "rules:\n  - name: retired\n    enabled: false\n    keyword: [x]\n    reply: answer\n",
        )
    )
    assert problem.line == 4


def test_yaml_tags_that_build_python_objects_are_refused(tmp_path: Path) -> None:
    problem = only_error(
        problems_of(
            tmp_path,
            "rules:\n  - name: !!python/object/apply:os.system ['true']\n    keywords: [x]\n    reply: answer\n",
        )
    )
    assert "not valid YAML" in problem.message


RULE = "rules:\n  - name: {name}\n    keywords: [{name}]\n    reply: answer\n"


def test_a_template_linked_to_a_secret_is_an_error_and_never_sent(tmp_path: Path) -> None:
    secret = tmp_path / "secret.env"
    secret.write_text("ABC_WEBHOOK_SECRET=whsec-do-not-send\n", encoding="utf-8")
    rules_dir, templates_dir = write_book(
        tmp_path / "book", "rules:\n  - name: env\n    keywords: [env]\n    reply: env\n"
    )
    (templates_dir / "env.j2").symlink_to(secret)
    book, problems = check_rulebook(rules_dir, templates_dir)
    problem = only_error(problems)  # one mistake, one message: not also "no template env"
    assert book is None
    assert (problem.file, problem.line) == (str(templates_dir / "env.j2"), 0)
    assert "link to another file" in problem.message
    assert "whsec" not in str(problem)


@pytest.mark.parametrize("target", ["outside", "inside", "proc"])
def test_a_rule_file_that_is_a_link_is_an_error(tmp_path: Path, target: str) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(RULE.format(name="linked"), encoding="utf-8")
    rules_dir, templates_dir = write_book(tmp_path / "book", RULE.format(name="real"))
    pointed = {"outside": outside, "inside": rules_dir / "rules.yaml"}.get(target)
    (rules_dir / "linked.yaml").symlink_to(pointed or Path("/proc/self/environ"))
    book, problems = check_rulebook(rules_dir, templates_dir)
    problem = only_error(problems)
    assert book is None
    assert (problem.file, problem.line) == (str(rules_dir / "linked.yaml"), 0)
    assert "link to another file" in problem.message and "copy the text" in problem.message


def test_a_pipe_in_the_rules_folder_is_an_error_and_does_not_hang(tmp_path: Path) -> None:
    rules_dir, templates_dir = write_book(tmp_path, RULE.format(name="real"))
    os.mkfifo(rules_dir / "more.yml")
    with within(5):
        book, problems = check_rulebook(rules_dir, templates_dir)
    problem = only_error(problems)
    assert book is None
    assert (problem.file, problem.line) == (str(rules_dir / "more.yml"), 0)
    assert "not an ordinary file" in problem.message


def test_the_rules_folder_itself_may_be_a_link(tmp_path: Path) -> None:
    rules_dir, templates_dir = write_book(tmp_path, RULE.format(name="real"))
    (tmp_path / "linked-rules").symlink_to(rules_dir, target_is_directory=True)
    book = load_rulebook(tmp_path / "linked-rules", templates_dir)
    assert [r.name for r in book.all_rules] == ["real"]


HOURS_TEMPLATES = {
    "welcome.j2": "Welcome",
    "opening_hours.j2": "We open at 9",
    "opening_hours.ms.j2": "Kami buka jam 9",
    "opening_hours.ms-MY.j2": "Kami buka jam 9 pagi",
}


def reply_problem(tmp_path: Path, reply: str) -> Problem:
    """The one error of a book whose only rule answers with  reply: <reply>."""
    rules = f"rules:\n  - name: hours\n    keywords: [open]\n    reply: '{reply}'\n"
    problem = only_error(problems_of(tmp_path, rules, HOURS_TEMPLATES))
    assert (Path(problem.file).name, problem.line, problem.rule) == ("rules.yaml", 4, "hours")
    return problem


@pytest.mark.parametrize("reply", ["welc*", "welcome?", "[w]elcome", "*", "opening_hours*"])
def test_a_template_name_is_never_a_pattern(tmp_path: Path, reply: str) -> None:
    message = reply_problem(tmp_path, reply).message
    assert f"'{reply}'" in message and "* ? [ ]" in message


@pytest.mark.parametrize(
    "reply",
    ["opening_hours.ms", "opening_hours.ms-MY", "opening_hours.MS_my", "opening_hours.ms.j2"],
)
def test_a_reply_naming_a_language_file_asks_for_the_base_name(tmp_path: Path, reply: str) -> None:
    message = reply_problem(tmp_path, reply).message
    assert "reply: opening_hours" in message and "language" in message


def test_a_language_name_without_any_template_says_so(tmp_path: Path) -> None:
    message = reply_problem(tmp_path, "goodbye.ms").message
    assert "reply: goodbye" in message and "no template file" in message


def test_a_reply_to_a_template_that_does_not_compile_is_reported_once(tmp_path: Path) -> None:
    rules = "rules:\n  - name: a\n    keywords: [x]\n    reply: promo\n"
    problem = only_error(problems_of(tmp_path, rules, {"promo.ms.j2": "Promosi\n{% if %}"}))
    assert (Path(problem.file).name, problem.line) == ("promo.ms.j2", 2)


@pytest.mark.parametrize(
    "reply",
    ["welc*", "opening_hours.ms", "../templates/welcome", "welcome/", "WELCOME", "faq/", "."],
)
def test_no_rule_is_ever_dropped_without_an_error(tmp_path: Path, reply: str) -> None:
    rules = (
        "rules:\n  - name: hours\n    keywords: [open]\n    reply: answer\n"
        f"  - name: odd\n    keywords: [odd]\n    reply: '{reply}'\n"
        "    examples: [odd question]\n"
    )
    book, problems = check_rulebook(
        *write_book(tmp_path, rules, {"answer.j2": "Hi", **HOURS_TEMPLATES})
    )
    assert book is None
    assert any(p.is_error and p.rule == "odd" for p in problems), "\n".join(map(str, problems))


def test_the_book_names_its_languages_default_first(tmp_path: Path) -> None:
    rules_dir, templates_dir = write_book(
        tmp_path,
        "settings:\n  languages: [ES, en]\nrules:\n  - name: a\n    keywords: [x]\n    reply: answer\n",
    )
    assert load_rulebook(rules_dir, templates_dir).settings.languages == ("es", "en")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("[english]", "'english' is not a language code"),
        ("[en, EN]", "'en' is listed twice"),
        ("[]", "must list language codes"),
    ],
)
def test_a_bad_languages_setting_is_an_error_at_its_line(
    tmp_path: Path, value: str, fragment: str
) -> None:
    problem = only_error(
        problems_of(
            tmp_path,
            f"settings:\n  languages: {value}\nrules:\n  - name: a\n    keywords: [x]\n    reply: answer\n",
        )
    )
    assert problem.line == 2 and fragment in problem.message


def test_gather_is_off_unless_set_and_a_rule_may_answer_at_once(tmp_path: Path) -> None:
    plain = book_from(tmp_path / "plain", "rules:\n  - name: a\n    keywords: [x]\n    text: hi\n")
    assert not plain.gathers and plain.settings.gather == timedelta(0)
    book = book_from(
        tmp_path / "gather",
        "settings:\n  gather: 4s\nrules:\n  - name: a\n    keywords: [x]\n    text: hi\n"
        "  - name: agent\n    keywords: [agent]\n    gather: 0s\n    text: soon\n",
    )
    assert book.gathers
    assert book.gather_for(book.rule("a")) == timedelta(seconds=4)
    assert book.gather_for(book.rule("agent")) == timedelta(0)
    assert book.gather_for(None) == timedelta(seconds=4)


def test_loading_gives_the_cycle_collector_back_as_it_found_it(tmp_path: Path) -> None:
    paths = write_book(tmp_path, "rules:\n  - name: a\n    keywords: [xyz]\n    reply: answer\n")
    assert gc.isenabled()
    load_rulebook(*paths)
    assert gc.isenabled()
    gc.disable()
    try:
        load_rulebook(*paths)
        assert not gc.isenabled()
    finally:
        gc.enable()
