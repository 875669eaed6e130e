import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from responder.engine.budget import RenderLimits
from responder.engine.context import build_context
from responder.engine.problems import Severity
from responder.engine.templates import (
    MAX_REPLY_CHARS,
    Template,
    TemplateLibrary,
    render,
)
from responder.errors import TemplateError
from responder.model import Lead, Message
from tests.rulebooks import within

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def make_library(folder: Path, files: dict[str, str | bytes]) -> TemplateLibrary:
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return TemplateLibrary(folder)


def context(
    lead: Lead | None = None,
    *,
    text: str = "hello",
    match: dict[str, str] | None = None,
    vars: dict[str, object] | None = None,
    default_timezone: ZoneInfo | None = None,
) -> dict[str, object]:
    return build_context(
        lead=lead or Lead(id="L1"),
        message=Message(text=text, channel="whatsapp", received_at=NOW),
        match=match or {},
        rule="pricing",
        now=NOW,
        vars=vars or {},
        default_timezone=default_timezone,
    )


def inline(source: str, *, line: int = 10) -> Template:
    library = TemplateLibrary(Path("no-such-folder"))
    template, problems = library.inline(source, file="rules/faq.yaml", line=line)
    assert problems == []
    assert template is not None
    return template


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ lead.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ self.__init__.__globals__ }}",
        "{{ range.__globals__ }}",
        "{{ now.__class__.__subclasses__() }}",
        "{{ ''|attr('__class__') }}",
        "{{ lead['__class__'] }}",
        "{{ '{0.__class__}'.format(lead) }}",
        "{{ '{0[__class__]}'.format(lead) }}",
        "{{ '{0.__init__.__globals__}'.format(cycler) }}",
        "{{ dict.mro() }}",
        "{{ namespace.__init__ }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    ],
)
def test_sandbox_escapes_stop_the_render_without_leaking(payload: str) -> None:
    template = inline(f"Hi {payload}")
    with pytest.raises(TemplateError) as caught:
        render(template, context())
    message = str(caught.value)
    assert "may not touch" in message
    assert "rules/faq.yaml:10" in message
    assert "<class" not in message and "built-in" not in message


@pytest.mark.parametrize(
    "payload",
    [
        "{{ lead.custom_fields.pop('plan') }}",
        "{{ lead.custom_fields.update(plan='x') }}",
        "{{ vars.clear() }}",
    ],
)
def test_sandbox_refuses_to_modify_values(payload: str) -> None:
    lead = Lead(id="L1", custom_fields={"plan": "pro"})
    with pytest.raises(TemplateError, match="may not touch"):
        render(inline(payload), context(lead))


@pytest.mark.parametrize(
    "payload",
    [
        "{{ 'a' * 1000000000 }}",
        "{{ [1] * 1000000000 }}",
        "{{ 2 ** 1000000 }}",
        "{{ 'x'.center(1000000000) }}",
        "{{ 'x'.ljust(1000000000) }}",
        "{{ 'x' | center(1000000000) }}",
        "{{ 'x' | indent(1000000000, true) }}",
    ],
)
def test_oversized_values_are_refused(payload: str) -> None:
    with pytest.raises(TemplateError, match=r"more than a reply can use|too large"):
        render(inline(payload), context())


def test_lead_text_is_data_and_never_runs() -> None:
    reply = render(inline("You wrote: {{ message.text }}"), context(text="{{ 7 * 7 }}"))
    assert reply == "You wrote: {{ 7 * 7 }}"


def test_missing_and_empty_values_render_as_nothing() -> None:
    template = inline("Hi {{ lead.first_name }}!{{ lead.nickname }}{{ lead.custom_fields.a.b }}")
    assert render(template, context(Lead(id="L1"))) == "Hi !"
    assert render(template, context(Lead(id="L1", name="Aina Binti Ali"))) == "Hi Aina!"


def test_none_values_render_as_nothing() -> None:
    lead = Lead(id="L1", custom_fields={"company": None})
    reply = render(inline("[{{ lead.custom_fields.company }}][{{ match.size }}]"), context(lead))
    assert reply == "[][]"


def test_default_replaces_an_empty_name_in_both_forms() -> None:
    nameless = context(Lead(id="L1", name=""))
    named = context(Lead(id="L1", name="Aina"))
    for source in (
        'Hi {{ lead.first_name | default("there") }}!',
        'Hi {{ lead.first_name | default("there", true) }}!',
        'Hi {{ lead.first_name | d("there") }}!',
    ):
        assert render(inline(source), nameless) == "Hi there!"
        assert render(inline(source), named) == "Hi Aina!"


def test_plain_default_keeps_zero_and_the_boolean_form_replaces_it() -> None:
    lead = Lead(id="L1", custom_fields={"orders": 0, "blank": "   "})
    template = inline(
        "{{ lead.custom_fields.orders | default('none') }}/"
        "{{ lead.custom_fields.orders | default('none', true) }}/"
        "{{ lead.custom_fields.blank | default('blank') }}/"
        "{{ lead.custom_fields.missing | default('missing') }}"
    )
    assert render(template, context(lead)) == "0/none/blank/missing"


def test_dictionary_keys_win_over_dictionary_methods() -> None:
    lead = Lead(id="L1", custom_fields={"items": "3 boxes", "values": "fair"})
    template = inline("{{ lead.custom_fields.items }}, {{ lead.custom_fields.values }}")
    assert render(template, context(lead)) == "3 boxes, fair"


def test_all_documented_values_are_available() -> None:
    lead = Lead(
        id="L7",
        name="Aina Ali",
        email="aina@example.com",
        phone="+60123",
        locale="ms-MY",
        timezone="Asia/Kuala_Lumpur",
        tags=("vip", "new"),
        custom_fields={"plan": "pro"},
    )
    template = inline(
        "{{ lead.id }}|{{ lead.name }}|{{ lead.first_name }}|{{ lead.email }}|{{ lead.phone }}|"
        "{{ lead.tags | join(',') }}|{{ lead.locale }}|{{ lead.timezone }}|"
        "{{ lead.custom_fields.plan }}|{{ message.text }}|{{ message.channel }}|"
        "{{ message.received_at.strftime('%H:%M') }}|{{ match.product }}|{{ rule.name }}|"
        "{{ vars.shop }}|{{ 'vip' in lead.tags }}"
    )
    reply = render(template, context(lead, match={"product": "pump"}, vars={"shop": "ABC"}))
    assert reply == (
        "L7|Aina Ali|Aina|aina@example.com|+60123|vip,new|ms-MY|Asia/Kuala_Lumpur|pro|hello|"
        "whatsapp|09:30|pump|pricing|ABC|True"
    )


def test_now_is_in_the_lead_time_zone() -> None:
    template = inline("{{ now.strftime('%Y-%m-%d %H:%M') }} {{ now.tzinfo.key }}")
    kl = context(Lead(id="L1", timezone="Asia/Kuala_Lumpur"))
    new_york = context(Lead(id="L1", timezone="America/New_York"))
    assert render(template, kl) == "2026-03-02 09:30 Asia/Kuala_Lumpur"
    assert render(template, new_york) == "2026-03-01 20:30 America/New_York"


def test_now_falls_back_to_the_settings_zone_for_an_unknown_lead_zone() -> None:
    template = inline("{{ now.strftime('%H:%M') }}")
    london = ZoneInfo("Europe/London")
    unknown = context(Lead(id="L1", timezone="Mars/Olympus"), default_timezone=london)
    missing = context(Lead(id="L1"), default_timezone=london)
    assert render(template, unknown) == "01:30"
    assert render(template, missing) == "01:30"


def test_build_context_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="time zone"):
        build_context(
            lead=Lead(id="L1"),
            message=Message(text="hi"),
            match={},
            rule="r",
            now=datetime(2026, 3, 2, 9, 0),
            vars={},
        )


def test_reply_is_stripped_and_block_lines_leave_no_blank_lines() -> None:
    template = inline("\n\n  {% if lead.name %}\nHi {{ lead.name }}\n{% endif %}\nBye  \n\n")
    assert render(template, context(Lead(id="L1", name="Aina"))) == "Hi Aina\nBye"


def test_output_is_capped_with_a_visible_cut() -> None:
    reply = render(inline("{{ 'x' * 5000 }}"), context())
    assert len(reply) == MAX_REPLY_CHARS
    assert reply.endswith("…")
    assert reply[:-1] == "x" * (MAX_REPLY_CHARS - 1)


def test_output_of_exactly_the_limit_is_not_cut() -> None:
    reply = render(inline(f"{{{{ 'y' * {MAX_REPLY_CHARS} }}}}\n   \n"), context())
    assert reply == "y" * MAX_REPLY_CHARS


def test_rendering_stops_once_the_limit_is_passed() -> None:
    # The division after the loop is never reached: the reply was complete long before.
    template = inline("{% for i in range(100000) %}{{ 'word ' * 200 }}{% endfor %}{{ 1 / 0 }}")
    reply = render(template, context())
    assert len(reply) <= MAX_REPLY_CHARS
    assert reply.endswith("…")


def test_an_empty_reply_is_an_error() -> None:
    with pytest.raises(TemplateError, match="empty reply"):
        render(inline("{{ lead.name }}"), context(Lead(id="L1")))


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("{{ 10 / lead.custom_fields.zero }}", "divides by zero"),
        ("{{ lead.custom_fields.missing + 1 }}", "is not there"),
        ("{{ lead.name.upper }}", "add () to call it"),
        ("{% if lead.id %}{{ lead.id | no_such_filter }}{% endif %}", "no_such_filter"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "without end"),
        ("{{ range(10000000) | length }}", "too large"),
    ],
)
def test_runtime_errors_become_one_sentence(source: str, fragment: str) -> None:
    lead = Lead(id="L1", name="Aina", custom_fields={"zero": 0})
    # Each case is about its own error: the time limit, which a loaded machine can reach
    # first (a recursion runs to Python's limit), is not in the way.
    untimed = RenderLimits(seconds=60)
    with pytest.raises(TemplateError) as caught:
        render(inline(source), context(lead), limits=untimed)
    assert fragment in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_a_runtime_error_names_the_line_of_an_inline_text() -> None:
    template = inline("Hello\nthere\n{{ 1 / 0 }}", line=20)
    with pytest.raises(TemplateError, match=r"rules/faq\.yaml:22 divides by zero"):
        render(template, context())


def test_a_runtime_error_names_the_file_and_line(tmp_path: Path) -> None:
    library = make_library(tmp_path, {"oops.j2": "Hi\n\n{{ 1 / 0 }}\n"})
    with pytest.raises(TemplateError) as caught:
        render(library.select("oops", ""), context())
    assert f"{tmp_path / 'oops.j2'}:3 divides by zero" in str(caught.value)


def test_syntax_error_in_a_file_is_reported_with_file_and_line(tmp_path: Path) -> None:
    library = make_library(
        tmp_path,
        {"good.j2": "Fine", "broken.j2": "Hello\n{{ lead.name }}\n{% for x in %}\n{% endfor %}"},
    )
    [problem] = library.problems
    assert problem.file == str(tmp_path / "broken.j2")
    assert problem.line == 3
    assert problem.severity is Severity.ERROR
    assert "mistake" in problem.message
    assert library.has("good")
    assert not library.has("broken")


def test_unknown_filter_is_reported_at_load(tmp_path: Path) -> None:
    library = make_library(tmp_path, {"f.j2": "Hi\n{{ lead.name | shout }}"})
    [problem] = library.problems
    assert (problem.line, "shout" in problem.message) == (2, True)


def test_syntax_error_in_an_inline_text_adds_its_line_offset() -> None:
    library = TemplateLibrary(Path("no-such-folder"))
    template, problems = library.inline(
        "Hello\n{{ lead.name }}\n{{ lead.name ", file="rules/faq.yaml", line=12, rule="hello"
    )
    assert template is None
    [problem] = problems
    assert (problem.file, problem.line, problem.rule) == ("rules/faq.yaml", 14, "hello")
    assert "mistake" in problem.message


def test_an_empty_inline_text_is_a_problem() -> None:
    library = TemplateLibrary(Path("no-such-folder"))
    template, problems = library.inline("  \n", file="rules/faq.yaml", line=3)
    assert template is None
    assert [(p.line, "empty" in p.message) for p in problems] == [(3, True)]


def test_include_and_extends_are_refused(tmp_path: Path) -> None:
    library = make_library(tmp_path, {"a.j2": "x\n{% include 'b.j2' %}", "b.j2": "b"})
    [problem] = library.problems
    assert (problem.file, problem.line) == (str(tmp_path / "a.j2"), 2)
    assert "include" in problem.message
    _, problems = library.inline("{% extends 'b.j2' %}", file="rules/x.yaml", line=5)
    assert [p.line for p in problems] == [5]


@pytest.fixture
def greetings(tmp_path: Path) -> TemplateLibrary:
    return make_library(
        tmp_path,
        {
            "welcome.j2": "Hello",
            "welcome.ms.j2": "Salam",
            "welcome.ms-MY.j2": "Salam Malaysia",
            "faq/pricing.j2": "Prices",
        },
    )


@pytest.mark.parametrize(
    ("locale", "reply"),
    [
        ("ms-MY", "Salam Malaysia"),
        ("ms_MY", "Salam Malaysia"),
        ("MS-my", "Salam Malaysia"),
        ("ms_MY.UTF-8", "Salam Malaysia"),
        ("ms", "Salam"),
        ("ms-SG", "Salam"),
        ("en", "Hello"),
        ("zh-Hant-TW", "Hello"),
        ("", "Hello"),
    ],
)
def test_locale_selection_chain(greetings: TemplateLibrary, locale: str, reply: str) -> None:
    assert render(greetings.select("welcome", locale), context()) == reply


def test_library_lists_names_and_locales(greetings: TemplateLibrary) -> None:
    assert greetings.problems == []
    assert greetings.names() == ["faq/pricing", "welcome"]
    assert greetings.locales("welcome") == ["", "ms", "ms-MY"]
    assert greetings.locales("nothing") == []
    assert greetings.has("faq/pricing")
    assert not greetings.has("goodbye")
    template = greetings.select("welcome", "ms-MY")
    assert (template.name, template.locale) == ("welcome", "ms-MY")
    assert template.origin.endswith("welcome.ms-MY.j2")


def test_select_raises_key_error_for_an_unknown_name(greetings: TemplateLibrary) -> None:
    with pytest.raises(KeyError, match="goodbye"):
        greetings.select("goodbye", "en")


def test_variants_without_a_default_fail_only_unmatched_leads(tmp_path: Path) -> None:
    # A rule naming such a template is an error of the loader (tests/engine/test_strict_check.py).
    library = make_library(tmp_path, {"promo.ms.j2": "Promosi"})
    assert library.has("promo") and not library.has_default_file("promo")
    assert render(library.select("promo", "ms-MY"), context()) == "Promosi"
    with pytest.raises(TemplateError, match="no file for the language 'en'"):
        library.select("promo", "en")


def test_unreadable_empty_and_duplicate_files_are_problems(tmp_path: Path) -> None:
    library = make_library(
        tmp_path,
        {
            "latin.j2": "Ol\xe1".encode("latin-1"),
            "blank.j2": "  \n",
            "hi.ms-MY.j2": "one",
            "hi.ms_my.j2": "two",
            "hi.j2": "hi",
        },
    )
    found = {(Path(p.file).name, p.severity): p.message for p in library.problems}
    assert "UTF-8" in found["latin.j2", Severity.ERROR]
    assert "empty" in found["blank.j2", Severity.WARNING]
    duplicate = found.get(("hi.ms_my.j2", Severity.ERROR)) or found["hi.ms-MY.j2", Severity.ERROR]
    assert "keep only one" in duplicate
    assert not library.has("latin")


def test_a_missing_folder_is_an_empty_library(tmp_path: Path) -> None:
    library = TemplateLibrary(tmp_path / "absent")
    assert (library.problems, library.names()) == ([], [])


def test_a_file_instead_of_a_folder_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "templates"
    path.write_text("x", encoding="utf-8")
    [problem] = TemplateLibrary(path).problems
    assert "not a folder" in problem.message


SECRET = "ABC_API_KEY=sk-live-do-not-send"


def refused(library: TemplateLibrary, path: Path) -> str:
    """The one error of ``library``, which must be about ``path`` as a whole (line 0)."""
    [problem] = [p for p in library.problems if p.is_error]
    assert (problem.file, problem.line) == (str(path), 0), str(problem)
    return problem.message


@pytest.mark.parametrize("target", ["secret", "/proc/self/environ", "inside"])
def test_a_template_that_is_a_link_is_refused_and_never_read(tmp_path: Path, target: str) -> None:
    folder = tmp_path / "templates"
    make_library(folder, {"welcome.j2": "Hello"})
    outside = tmp_path / "outside.txt"
    outside.write_text(SECRET, encoding="utf-8")
    pointed = {"secret": outside, "inside": folder / "welcome.j2"}.get(target, Path(target))
    (folder / "env.j2").symlink_to(pointed)
    library = TemplateLibrary(folder)
    message = refused(library, folder / "env.j2")
    assert "link to another file" in message and "copy the text" in message
    assert library.names() == ["welcome"]
    assert SECRET not in message


def test_a_broken_link_is_refused_too(tmp_path: Path) -> None:
    (tmp_path / "gone.j2").symlink_to(tmp_path / "nowhere.j2")
    assert "link" in refused(TemplateLibrary(tmp_path), tmp_path / "gone.j2")


def test_a_linked_sub_folder_is_refused_and_not_entered(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    make_library(elsewhere, {"secret.j2": SECRET})
    folder = tmp_path / "templates"
    make_library(folder, {"welcome.j2": "Hello", "faq/pricing.j2": "Prices"})
    (folder / "shared").symlink_to(elsewhere, target_is_directory=True)
    (folder / "faq" / "loop").symlink_to(folder, target_is_directory=True)
    library = TemplateLibrary(folder)
    errors = {p.file: p.message for p in library.problems if p.is_error}
    assert set(errors) == {str(folder / "shared"), str(folder / "faq" / "loop")}
    assert all("link to another folder" in message for message in errors.values())
    assert library.names() == ["faq/pricing", "welcome"]


@pytest.mark.parametrize("kind", ["pipe", "socket"])
def test_a_pipe_or_socket_named_like_a_template_is_refused_without_waiting(
    tmp_path: Path, kind: str
) -> None:
    special = tmp_path / f"{kind}.j2"
    listening = socket.socket(socket.AF_UNIX)
    if kind == "pipe":
        os.mkfifo(special)
    else:
        listening.bind(str(special))
    (tmp_path / "ok.j2").write_text("fine", encoding="utf-8")
    with listening, within(5):
        library = TemplateLibrary(tmp_path)
    assert f"not an ordinary file (it is a {kind})" in refused(library, special)
    assert library.names() == ["ok"]


def test_the_templates_folder_itself_may_be_a_link(tmp_path: Path) -> None:
    make_library(tmp_path / "real", {"welcome.j2": "Hello", "faq/pricing.j2": "Prices"})
    (tmp_path / "templates").symlink_to(tmp_path / "real", target_is_directory=True)
    library = TemplateLibrary(tmp_path / "templates")
    assert (library.problems, library.names()) == ([], ["faq/pricing", "welcome"])
