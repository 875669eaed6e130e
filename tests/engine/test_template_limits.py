"""A render's budget: templates cannot exhaust time or memory, and say so with file and line.

The cases are sized so that, without the budget, each finishes in a second or two and gives a
reply (so the test fails instead of hanging the suite); the exact reproductions of the issue,
which would hang or take gigabytes, run in a subprocess with a timeout.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from responder.engine.authoring import check
from responder.engine.budget import RenderLimits
from responder.engine.context import build_context
from responder.engine.decide import decide
from responder.engine.jinja_env import ReplyEnvironment, needs_budget
from responder.engine.templates import Template, TemplateLibrary, render
from responder.errors import TemplateError
from responder.model import Lead, LeadState, Message, Outcome
from tests.rulebooks import book_from, write_book

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
# Short, so that a broken limit shows as a quick failure rather than a long wait.
LIMITS = RenderLimits(seconds=2.0, loop_turns=1_000, calls=1_000, built=1_000_000)


def nested(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


# Data from the platform is whatever the lead's record holds.
BIG_LEAD = Lead(
    id="L1",
    name="Aina",
    custom_fields={"big": list(range(300_000)), "notes": "n" * 1_000, "deep": nested(500)},
)


def inline(source: str, *, line: int = 10) -> Template:
    library = TemplateLibrary(Path("no-such-folder"))
    template, problems = library.inline(source, file="rules/faq.yaml", line=line)
    assert problems == []
    assert template is not None
    return template


def context(lead: Lead = BIG_LEAD) -> dict[str, object]:
    return build_context(
        lead=lead,
        message=Message(text="hello", channel="whatsapp", received_at=NOW),
        match={},
        rule="r",
        now=NOW,
        vars={},
    )


def refusal(source: str, limits: RenderLimits = LIMITS) -> str:
    with pytest.raises(TemplateError) as caught:
        render(inline(source), context(), limits=limits)
    return str(caught.value)


NESTED_LOOPS = "{% for a in range(2000) %}{% for b in range(2000) %}{% endfor %}{% endfor %}done"
BOMB_MACRO = (
    "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(17) }}done"
)


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        (NESTED_LOOPS, "repeats a loop more than 1,000 times; a reply never needs that many"),
        ("{% for x in lead.custom_fields.big %}{% endfor %}done", "repeats a loop"),
        (BOMB_MACRO, "calls macros, functions or methods more than 1,000 times"),
        ("{{ '{:>200000}'.format('a') }}", "asks for a text of 200,000 characters"),
        ("{{ '{0}{0}{0}'.format('x' * 50000) }}", "more than a reply can use"),
        ("{{ '%200000s' % 'a' }}", "asks for a text of 200,00"),
        ("{{ '%(a)s%(a)s%(a)s' % {'a': 'x' * 50000} }}", "more than a reply can use"),
        (
            "{% set s = 'x' * 50000 %}{{ '%s%s%s' | format(s, s, s) }}",
            "asks for a text of 150,006 characters",
        ),
        ("{{ 'a' * 10**9 }}", "asks for a text of 1,000,000,000 characters"),
        ("{{ range(10**9) | join }}", "too large"),
        ("{{ range(100000) | join(',' * 1000) }}", "more than a reply can use"),
        ("{{ ', '.join(['x' * 1000] * 1000) }}", "more than a reply can use"),
        ("{{ ('\t' * 1000).expandtabs(1000) }}", "asks for a text of 1,00"),
        ("{{ ('a' * 1000).replace('a', 'b' * 1000) }}", "asks for a text of 1,000,000"),
        ("{{ ('a' * 1000) | replace('a', 'b' * 1000) }}", "asks for a text of 1,000,000"),
        ("{{ (1).to_bytes(200000, 'big') }}", "more than a reply can use"),
        ("{{ range(3) | batch(1000000, 'x') | list }}", "a list of 1,000,000 items"),
        ("{{ 1 | round(100000, 'floor') }}", "computes a number too large to print"),
        ("{{ (2 ** 2000) * (2 ** 2000) * (2 ** 2000) }}", "computes a number too large to print"),
        ("{{ ('x ' * 1000) | wordwrap(1, wrapstring='-' * 1000) }}", "more than a reply can use"),
        ("{{ ('line\\n' * 1000) | indent(1000) }}", "more than a reply can use"),
        ("{{ lead.custom_fields.deep | tojson }}", "nests lists more than 100 levels deep"),
        ("{{ lead.custom_fields.big | sort | first }}", "a list of 300,000 items"),
    ],
)
def test_a_template_over_its_budget_stops_with_a_sentence(source: str, fragment: str) -> None:
    message = refusal(source)
    assert message.startswith("the reply template rules/faq.yaml:10 ")
    assert fragment in message


@pytest.mark.parametrize(
    "source",
    [
        # Doubling a text or a list: each step is small, the twentieth is a megabyte.
        "{% set ns = namespace(s='a') %}{% for i in range(25) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}{{ ns.s | length }}",
        "{% set ns = namespace(s='a') %}{% for i in range(25) %}{% set ns.s = ns.s + ns.s %}"
        "{% endfor %}{{ ns.s | length }}",
        "{% set ns = namespace(l=[1]) %}{% for i in range(25) %}{% set ns.l = ns.l + ns.l %}"
        "{% endfor %}{{ ns.l | length }}",
        # A list holding itself twice: tiny in memory, gigabytes once written out.
        "{% set ns = namespace(l=[1]) %}{% for i in range(22) %}{% set ns.l = [ns.l, ns.l] %}"
        "{% endfor %}{{ ns.l }}",
        "{% set ns = namespace(l=[1]) %}{% for i in range(22) %}{% set ns.l = [ns.l] * 2 %}"
        "{% endfor %}{{ ns.l | string | length }}",
    ],
)
def test_values_that_double_at_every_step_are_refused(source: str) -> None:
    assert "more than a reply can use" in refusal(source)


@pytest.mark.parametrize(
    "source",
    [
        "{% macro m() %}{% for i in range(900) %}{{ lead.custom_fields.notes }}{% endfor %}"
        "{% endmacro %}{{ m() | length }}",
        "{% filter upper %}{% for i in range(900) %}{{ lead.custom_fields.notes }}{% endfor %}"
        "{% endfilter %}",
        "{% set text %}{% for i in range(900) %}{{ lead.custom_fields.notes }}{% endfor %}"
        "{% endset %}{{ text | length }}",
    ],
)
def test_the_text_of_a_macro_or_block_is_measured_before_it_is_joined(source: str) -> None:
    assert "asks for a text of 900,000 characters" in refusal(source)


def test_what_a_render_builds_in_all_is_limited() -> None:
    source = "{% for i in range(100) %}{{ ('x' * 50000) | upper | length }}{% endfor %}"
    assert "builds more than 1,000,000 characters of text and lists in all" in refusal(source)


def test_a_render_stops_at_its_deadline() -> None:
    slow = RenderLimits(seconds=0.05, loop_turns=10**9, calls=10**9, built=10**12)
    message = refusal(NESTED_LOOPS, slow)
    assert "takes longer than 0.05 seconds to write; a reply never needs that long" in message


def test_unsafe_operations_are_not_evaluated_while_compiling() -> None:
    # Jinja folds constant expressions while compiling; these would take a gigabyte there.
    for source in ("{{ '%999999999s' % 'a' }}", "{{ 'a' | center(999999999) }}"):
        template = inline(source)
        with pytest.raises(TemplateError, match="more than a reply can use"):
            render(template, context(), limits=LIMITS)


def test_every_render_has_a_budget_of_its_own() -> None:
    template = inline("{% for i in range(800) %}{% endfor %}done")
    for _ in range(3):
        assert render(template, context(), limits=LIMITS) == "done"


def test_a_namespace_prints_the_same_whatever_it_holds() -> None:
    # Measured when built, a list of namespaces must not grow when they change afterwards.
    source = (
        "{% set ns = namespace() %}{% set items = [ns] * 100 %}{% set ns.x = 'a' * 50000 %}"
        "{{ items | string | length }} {{ ns }}"
    )
    assert render(inline(source), context(), limits=LIMITS) == "1300 <namespace>"


@pytest.mark.parametrize(
    ("source", "reply"),
    [
        (
            "{% set ns = namespace(total=0, ids=[]) %}{% for o in lead.custom_fields.orders %}"
            "{% set ns.total = ns.total + o.total %}{% set ns.ids = ns.ids + [o.id] %}"
            "{% endfor %}{{ ns.total }} {{ ns.ids }}",
            "12.5 [1, 2]",
        ),
        (
            "{% for o in lead.custom_fields.orders %}{{ loop.index }}={{ '%.2f' % o.total }}"
            "{{ ', ' if not loop.last }}{% endfor %}",
            "1=5.50, 2=7.00",
        ),
        (
            "{% for t in lead.custom_fields.tree recursive %}{{ t.name }}"
            "{% if t.kids %}[{{ loop(t.kids) }}]{% endif %}{% endfor %}",
            "a[b]",
        ),
        (
            "[{{ '{:>4}|{:<3}|'.format('a', 'b') }}{{ 'x' ~ 1 ~ none }} {{ [1, 2] + [3] }}",
            "[   a|b  |x1None [1, 2, 3]",
        ),
        (
            "{{ lead.custom_fields.orders | map(attribute='id') | join('+') }} "
            "{{ lead.custom_fields.orders | sum(attribute='total') }} "
            "{{ [[1], [2]] | sum(start=[]) }} {{ range(5) | batch(2) | list }}",
            "1+2 12.5 [1, 2] [[0, 1], [2, 3], [4]]",
        ),
    ],
)
def test_ordinary_templates_are_unchanged(source: str, reply: str) -> None:
    orders = [{"id": 1, "total": 5.5}, {"id": 2, "total": 7}]
    tree = [{"name": "a", "kids": [{"name": "b", "kids": []}]}]
    lead = Lead(id="L1", custom_fields={"orders": orders, "tree": tree})
    assert render(inline(source), context(lead)) == reply


@pytest.mark.parametrize(
    "source",
    [
        "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
        "{% if 1 %}" * 200 + "x" + "{% endif %}" * 200,
        "{% for a in [1] %}" * 30 + "x" + "{% endfor %}" * 30,
        "{{ 1" + " + 1" * 20000 + " }}",
    ],
)
def test_a_template_nested_too_deeply_is_a_problem_not_a_crash(source: str) -> None:
    library = TemplateLibrary(Path("no-such-folder"))
    template, problems = library.inline(source, file="rules/faq.yaml", line=4)
    assert template is None
    [problem] = problems
    assert (problem.file, problem.line) == ("rules/faq.yaml", 4)
    assert "nests blocks or brackets too deeply" in problem.message


def test_check_reports_an_overrun_with_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_book(
        tmp_path,
        "rules:\n  - name: a\n    keywords: [go]\n    reply: loops\n",
        {"loops.j2": f"Hello\n\n{NESTED_LOOPS}\n", "bomb.j2": f"Hi\n\n{BOMB_MACRO}\n"},
    )
    report = check(Path("rules"), Path("templates"))
    failures = [str(problem) for problem in report.errors]
    assert not report.ok
    assert any("templates/loops.j2:3 repeats a loop more than 10,000 times" in f for f in failures)
    # The call limit or, on a busy machine, the deadline: either way the line is named.
    assert any("templates/bomb.j2:3 " in f for f in failures), failures


def test_decide_ends_an_overrunning_reply_as_failed_quickly(tmp_path: Path) -> None:
    book = book_from(
        tmp_path,
        "rules:\n  - name: a\n    keywords: [go]\n    reply: loops\n",
        {"loops.j2": f"Hello\n\n{NESTED_LOOPS}\n"},
    )
    state = LeadState(first_seen=NOW - timedelta(days=1))
    decision = decide(Message(text="go", received_at=NOW), Lead(id="L1"), book, state, NOW)
    assert decision.outcome is Outcome.FAILED
    assert "loops.j2:3 repeats a loop more than 10,000 times" in decision.why


ISSUE_REPRODUCTIONS = {
    "loops": "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}x",
    "padding": "{{ '{:>999999999}'.format('a') }}",
    "percent": "{{ '%999999999s' % 'a' }}",
    "repeat": "{{ 'a' * 10**9 }}",
    "joined": "{{ range(10**9) | join }}",
    "macro": "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "bomb": "{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}",
}


def test_the_issue_reproductions_are_errors_of_check_within_seconds(tmp_path: Path) -> None:
    # Without the budget these hang check (loops, bomb), or take a gigabyte while compiling
    # (percent) or rendering (padding): run it apart, with a timeout.
    templates = {
        f"{name}.j2": f"Hello\n\n{source}\n" for name, source in ISSUE_REPRODUCTIONS.items()
    }
    write_book(tmp_path, "rules:\n  - name: a\n    keywords: [go]\n    text: hi\n", templates)
    script = textwrap.dedent("""
        from pathlib import Path
        from responder.engine.authoring import check
        report = check(Path("rules"), Path("templates"))
        for problem in report.errors:
            print(problem)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    said = {
        name: [line for line in result.stdout.splitlines() if f"templates/{name}.j2:3 " in line]
        for name in ISSUE_REPRODUCTIONS
    }
    assert all(said.values()), said
    expected = {
        "loops": "repeats a loop more than 10,000 times",
        "padding": "asks for a text of 999,999,999 characters",
        "macro": "calls itself without end",
        "bomb": "calls macros, functions or methods more than 10,000 times",
    }
    for name, words in expected.items():
        # On a loaded machine the time limit may be reached before the count: also a refusal.
        assert any(words in line or "takes longer than 0.1 seconds" in line for line in said[name])


@pytest.mark.parametrize(
    ("source", "needed"),
    [
        ("Hi {{ lead.first_name | default('there') }}! {{ vars.shop }}", False),
        ("{% if lead.tags and 'vip' in lead.tags %}VIP {{ lead.name[:10] }}{% endif %}", False),
        ("{{ lead.name.upper() }}", True),
        ("{% for t in lead.tags %}{{ t }}{% endfor %}", True),
        ("{{ lead.name | upper }}", True),
        ("{{ lead.name ~ '!' }}", True),
        ("{{ lead.custom_fields.n * 2 }}", True),
        ("{% set x %}{{ lead.name }}{% endset %}{{ x }}", True),
        ("{% macro m() %}x{% endmacro %}{{ 1 }}", True),
    ],
)
def test_only_templates_that_reach_no_hook_skip_the_budget(source: str, needed: bool) -> None:
    assert needs_budget(ReplyEnvironment().parse(source)) is needed
