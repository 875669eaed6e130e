"""Nothing broken passes check: every mistake that used to send a broken reply is an error.

Each test writes a small broken rule book and asserts the one message it must give, with its
file, line and rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from responder.engine.authoring import check, format_check
from responder.engine.loader import check_rulebook
from responder.engine.problems import Problem, Severity
from tests.rulebooks import write_book

HELLO = "rules:\n  - name: hello\n    keywords: [hello]\n    reply: hi\n"
SETTINGS = "settings:\n  vars:\n    shop_centre: Mid Valley\n"


def problems_of(
    tmp_path: Path, rules: str | dict[str, str], templates: dict[str, str] | None = None
) -> list[Problem]:
    _, problems = check_rulebook(*write_book(tmp_path, rules, templates))
    return problems


def the_error(problems: list[Problem]) -> Problem:
    errors = [p for p in problems if p.is_error]
    assert len(errors) == 1, "\n".join(map(str, problems))
    return errors[0]


def the_warning(problems: list[Problem]) -> Problem:
    assert not any(p.is_error for p in problems), "\n".join(map(str, problems))
    warnings = [p for p in problems if p.severity is Severity.WARNING]
    assert len(warnings) == 1, "\n".join(map(str, problems))
    return warnings[0]


def where(problem: Problem) -> tuple[str, int, str]:
    return Path(problem.file).name, problem.line, problem.rule


# -- unknown values ---------------------------------------------------------------------------


def test_an_unknown_lead_attribute_is_an_error_at_the_template_line(tmp_path: Path) -> None:
    problem = the_error(
        problems_of(tmp_path, HELLO, {"hi.j2": "Hello!\n\nHi {{ lead.firstname }}, welcome."})
    )
    assert where(problem) == ("hi.j2", 3, "hello")
    assert "'lead.firstname' is not something a reply knows about the customer" in problem.message
    assert "did you mean 'lead.first_name'?" in problem.message


def test_an_unknown_var_is_an_error_with_a_did_you_mean(tmp_path: Path) -> None:
    rules = SETTINGS + HELLO
    problem = the_error(problems_of(tmp_path, rules, {"hi.j2": "Visit {{ vars.shop_centr }}"}))
    assert where(problem) == ("hi.j2", 1, "hello")
    assert "'vars.shop_centr' is not in the settings' vars" in problem.message
    assert "did you mean 'vars.shop_centre'?" in problem.message


def test_a_var_without_any_vars_in_the_settings_is_an_error(tmp_path: Path) -> None:
    problem = the_error(problems_of(tmp_path, HELLO, {"hi.j2": "See {{ vars.pricing_url }}"}))
    assert "the settings have no vars" in problem.message


def test_a_match_part_the_pattern_does_not_name_is_an_error(tmp_path: Path) -> None:
    rules = (
        "rules:\n  - name: order-status\n    regex: 'order\\s*(?P<order>\\d{5,10})'\n"
        "    reply: status\n"
    )
    problem = the_error(problems_of(tmp_path, rules, {"status.j2": "Order {{ match.number }}"}))
    assert where(problem) == ("status.j2", 1, "order-status")
    assert "'match.number' is always empty" in problem.message
    assert "no part named 'number'; did you mean 'match.order'?" in problem.message
    assert "its named parts: order" in problem.message


def test_a_match_part_in_a_text_reply_of_a_rule_without_pattern_is_an_error(
    tmp_path: Path,
) -> None:
    rules = (
        "rules:\n  - name: thanks\n    keywords: [thanks]\n    text: 'Order {{ match.order }}'\n"
    )
    problem = the_error(problems_of(tmp_path, rules))
    assert where(problem) == ("rules.yaml", 4, "thanks")
    assert "this rule has no regex" in problem.message


def test_match_is_checked_per_rule_that_uses_the_template(tmp_path: Path) -> None:
    rules = (
        "rules:\n"
        "  - name: with-order\n    regex: '#(?P<order>\\d+)'\n    reply: status\n"
        "  - name: without\n    keywords: [where]\n    reply: status\n"
    )
    problem = the_error(problems_of(tmp_path, rules, {"status.j2": "Order {{ match.order }}"}))
    assert where(problem) == ("status.j2", 1, "without")


def test_every_language_file_is_checked(tmp_path: Path) -> None:
    templates = {"hi.j2": "Hi {{ lead.first_name }}", "hi.ms.j2": "Hai {{ lead.frist_name }}"}
    problem = the_error(problems_of(tmp_path, HELLO, templates))
    assert where(problem) == ("hi.ms.j2", 1, "hello")
    assert "did you mean 'lead.first_name'?" in problem.message


def test_a_bare_name_suggests_where_it_lives(tmp_path: Path) -> None:
    problem = the_error(problems_of(tmp_path, HELLO, {"hi.j2": "Hi {{ first_name }}"}))
    assert "there is no value called 'first_name' in a reply" in problem.message
    assert "did you mean 'lead.first_name'?" in problem.message


def test_an_unknown_filter_in_a_branch_is_an_error(tmp_path: Path) -> None:
    template = "{% if lead.name %}{{ lead.name | captalize }}{% endif %}"
    problem = the_error(problems_of(tmp_path, HELLO, {"hi.j2": template}))
    assert "there is no filter 'captalize'; did you mean 'capitalize'?" in problem.message


def test_one_mistake_used_by_two_rules_is_one_message_naming_both(tmp_path: Path) -> None:
    rules = HELLO + "  - name: hey\n    keywords: [hey]\n    reply: hi\n"
    problem = the_error(problems_of(tmp_path, rules, {"hi.j2": "Hi {{ lead.nmae }}"}))
    assert problem.rule == "hello, hey"


def test_what_a_template_sets_itself_and_every_known_value_passes(tmp_path: Path) -> None:
    template = (
        "{% set greeting = 'Hi' %}{% set ns = namespace(n=0) %}"
        "{% macro who(person) %}{{ person }}{% endmacro %}"
        "{% for tag in lead.tags %}{{ loop.index }} {{ tag }}{% set ns.n = ns.n + 1 %}{% endfor %}"
        "{% for key, value in vars.items() %}{{ key }}={{ value }}{% endfor %}"
        "{{ greeting }} {{ who(lead.get('name')) }} {{ message.text }} {{ rule.name }} "
        "{{ now.strftime('%H:%M') }} {{ now.hour }} {{ lead.custom_fields.plan }} "
        "{{ lead['email'] }} {{ range(2) | list }} {{ ns.n }}"
    )
    problems = problems_of(tmp_path, SETTINGS + HELLO, {"hi.j2": template})
    assert problems == []


def test_custom_fields_stay_open_but_are_listed_in_the_report(tmp_path: Path) -> None:
    templates = {"hi.j2": "Hi\n{{ lead.custom_fields.plan_intrest }}"}
    report = check(*write_book(tmp_path, HELLO, templates))
    assert report.ok, format_check(report)
    assert report.custom_fields == {"plan_intrest": [f"{tmp_path}/templates/hi.j2:2"]}
    assert f"Custom fields: plan_intrest ({tmp_path}/templates/hi.j2:2)" in format_check(report)


# -- single braces --------------------------------------------------------------------------


def test_single_braces_around_a_value_are_a_warning_naming_the_fix(tmp_path: Path) -> None:
    templates = {"hi.j2": "Hello\nHi { lead.first_name }, or {name}. {not a value}"}
    problems = problems_of(tmp_path, HELLO, templates)
    assert not any(p.is_error for p in problems)
    found = {(p.line, p.message) for p in problems}
    assert found == {
        (
            2,
            "'{ lead.first_name }' has single braces, so the customer gets it as written: "
            "write {{ lead.first_name }} to put the value in",
        ),
        (
            2,
            "'{ name }' has single braces, so the customer gets it as written: "
            "write {{ lead.name }} to put the value in",
        ),
    }


# -- the files of a template ----------------------------------------------------------------


def test_a_template_with_only_a_language_file_is_an_error_at_the_reply(tmp_path: Path) -> None:
    problem = the_error(problems_of(tmp_path, HELLO, {"hi.es.j2": "Hola"}))
    assert where(problem) == ("rules.yaml", 4, "hello")
    assert "there is no default file" in problem.message and "hi.j2" in problem.message
    assert "there is only hi.es.j2" in problem.message


def test_the_examples_of_a_rule_without_a_default_file_do_not_pass(tmp_path: Path) -> None:
    rules = HELLO + "    examples: [hello]\n"
    report = check(*write_book(tmp_path, rules, {"hi.ms.j2": "Hai"}))
    assert not report.ok and report.examples == 0


@pytest.mark.parametrize("file", ["hi.txt", "hi.j2.txt", "hi.J2", "hi"])
def test_a_template_with_the_wrong_extension_is_an_error_naming_the_fix(
    tmp_path: Path, file: str
) -> None:
    problem = the_error(problems_of(tmp_path, HELLO, {file: "Hi"}))
    assert where(problem) == ("rules.yaml", 4, "hello")
    assert f"templates/{file} is there, but a template file's name must end in .j2" in (
        problem.message
    )
    assert "rename it to hi.j2" in problem.message


@pytest.mark.parametrize(
    "file", ["gluten_free_es.j2", "gluten_free-es.j2", "gluten_free.spanish.j2"]
)
def test_a_language_file_named_outside_the_scheme_is_a_warning(tmp_path: Path, file: str) -> None:
    rules = "rules:\n  - name: gluten\n    keywords: [gluten]\n    reply: gluten_free\n"
    templates = {"gluten_free.j2": "Yes, we have gluten-free cakes.", file: "Sí"}
    problem = the_warning(problems_of(tmp_path, rules, templates))
    assert Path(problem.file).name == file
    assert "looks like the 'es' language file of 'gluten_free'" in problem.message
    assert "rename the file to gluten_free.es.j2" in problem.message


def test_a_misnamed_language_file_next_to_the_right_one_says_keep_one(tmp_path: Path) -> None:
    templates = {"hi.j2": "Hi", "hi.es.j2": "Hola", "hi_es.j2": "Hola!"}
    problem = the_warning(problems_of(tmp_path, HELLO, templates))
    assert "hi.es.j2 already exists, so keep only one of the two" in problem.message


def test_a_name_that_only_ends_like_a_language_is_left_alone(tmp_path: Path) -> None:
    templates = {"hi.j2": "Hi", "order_status.j2": "Status", "contact_us.j2": "Us"}
    assert problems_of(tmp_path, HELLO, templates) == []


def test_the_books_languages_decide_what_counts_as_a_language(tmp_path: Path) -> None:
    templates = {"hi.j2": "Hi", "hi_id.j2": "Your id", "hi_es.j2": "Hola"}
    rules = "settings:\n  languages: [en, es]\n" + HELLO
    problem = the_warning(problems_of(tmp_path, rules, templates))
    assert Path(problem.file).name == "hi_es.j2"


# -- one mistake, one message ---------------------------------------------------------------


def test_a_bad_hours_value_is_one_message(tmp_path: Path) -> None:
    rules = (
        "settings:\n  hours:\n    office: 'mon-fry 09:00-18:00'\n"
        "rules:\n  - name: late\n    outside: office\n    reply: hi\n"
    )
    [problem] = problems_of(tmp_path, rules, {"hi.j2": "Hi"})
    assert where(problem) == ("rules.yaml", 3, "")
    assert "'fry' is not a day" in problem.message


LATE = "rules:\n  - name: late\n    outside: office\n    reply: hi\n"


def test_hours_that_are_not_a_list_are_one_message(tmp_path: Path) -> None:
    rules = "settings:\n  hours: 'mon-fri 09:00-18:00'\n" + LATE
    [problem] = problems_of(tmp_path, rules, {"hi.j2": "Hi"})
    assert where(problem) == ("rules.yaml", 2, "")
    assert "'hours' must list named hours" in problem.message


def test_hours_set_in_two_files_are_one_message(tmp_path: Path) -> None:
    files = {
        "a.yaml": "settings:\n  hours:\n    shop: 'mon 09:00-10:00'\n",
        "b.yaml": "settings:\n  hours:\n    office: 'mon-fri 09:00-18:00'\n" + LATE,
    }
    [problem] = problems_of(tmp_path, files, {"hi.j2": "Hi"})
    assert where(problem) == ("b.yaml", 2, "")
    assert "'hours' is already set in" in problem.message


def test_a_template_syntax_error_is_one_message(tmp_path: Path) -> None:
    templates = {"hi.j2": "Hi {{ lead.name ", "hi.ms.j2": "Hai"}
    [problem] = problems_of(tmp_path, HELLO, templates)  # nothing about a missing default file
    assert where(problem) == ("hi.j2", 1, "")
    assert "the template has a mistake" in problem.message


# -- YAML mistakes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rules", "line", "cause"),
    [
        ("rules:\n  - name: a\n\tkeywords: [x]\n    reply: hi\n", 3, "indent with spaces"),
        ("rules:\n  - name: a\n    keywords: [x]\n\t  reply: hi\n", 4, "indent with spaces"),
        (
            "rules:\n  - name: a\n    keywords: [x]\n    text: {{ lead.first_name }}, hi\n",
            4,
            "put the reply in quotes",
        ),
        (
            "rules:\n  - name: a\n    keywords: [x]\n    text: {{ lead.first_name }}\n",
            4,
            "put the reply in quotes",
        ),
        (
            'rules:\n  - name: a\n    regex: "order\\s*(\\d+)"\n    reply: hi\n',
            3,
            "use single quotes for patterns",
        ),
        ("rules:\n  - name: a\n    keywords: [x]\n      reply: hi\n", 4, "check the indent"),
        ("rules:\n  - name: a\n    keywords: [x]\n   reply: hi\n", 4, "check the indent"),
    ],
)
def test_a_yaml_mistake_keeps_its_line_and_says_the_likely_cause(
    tmp_path: Path, rules: str, line: int, cause: str
) -> None:
    problem = the_error(problems_of(tmp_path, rules, {"hi.j2": "Hi"}))
    assert (Path(problem.file).name, problem.line) == ("rules.yaml", line)
    assert cause in problem.message
