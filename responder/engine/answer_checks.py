"""Checking a rule's answer: ``reply`` (a template), ``text`` (one or per language), and
``attachment``. The format is documented for rule authors in ``docs/rules.md``.
"""

from __future__ import annotations

from collections.abc import Sequence

from responder.engine.attachments import parse_attachment
from responder.engine.problems import did_you_mean
from responder.engine.reply_names import reply_template
from responder.engine.reporting import Reporter
from responder.engine.templates import Template
from responder.engine.yamlfile import Located


class AnswerChecks(Reporter):
    """What a rule answers with, or the problems that stop it; the base of the rule validator."""

    def _answer(
        self, block: Located, rule: str, languages: Sequence[str]
    ) -> tuple[str, Template | None, tuple[tuple[str, Template], ...]]:
        """The rule's template name, or its inline text (in the default language) and its
        texts per language when written so; ``("", None, ())`` on a problem."""
        has_reply, has_text = "reply" in block, "text" in block
        if has_reply == has_text:
            self.error(
                block.line,
                'give the answer either as  reply: template-name  or as  text: "..." '
                "(exactly one of them)",
                rule,
            )
            return "", None, ()
        if not has_text:
            return self._reply_name(block, rule), None, ()
        source = block["text"]
        line = block.line_of("text")
        if isinstance(source, dict) and any(str(key).startswith("{") for key in source):
            # text: {{ lead.first_name }}, read by YAML as a mapping inside a mapping
            self.error(
                line,
                'put the reply in quotes, like  text: "Hi {{ lead.first_name }}!"  '
                "(without quotes, YAML reads {{ ... }} as something else)",
                rule,
            )
            return "", None, ()
        if isinstance(source, Located):
            return self._texts(source, line, rule, languages)
        if not isinstance(source, str) or not source.strip():
            self.error(line, "'text' must be the reply, in quotes", rule)
            return "", None, ()
        template, problems = self.templates.inline(source, file=self.file, line=line, rule=rule)
        self.problems.extend(problems)
        return "", template, ()

    def _texts(
        self, texts: Located, line: int, rule: str, languages: Sequence[str]
    ) -> tuple[str, Template | None, tuple[tuple[str, Template], ...]]:
        """``text:`` written per language, like  text: {en: "Hi!", es: "¡Hola!"}."""
        example = 'like  text: {en: "Hi!", es: "¡Hola!"}'
        if not languages:
            self.error(
                line,
                "'text' gives a reply per language, but the settings name no languages: add  "
                "languages: [en, es]  to the settings (the first is the default)",
                rule,
            )
            return "", None, ()
        if not texts:
            self.error(line, f"'text' must give the reply for each language, {example}", rule)
            return "", None, ()
        known = ", ".join(languages)
        compiled: list[tuple[str, Template]] = []
        broken = False
        for key, source in texts.items():
            at = texts.line_of(key)
            code = key.strip().lower()
            if code not in languages:
                maybe = did_you_mean(code, languages)
                self.error(
                    at,
                    f"'{key}' is not one of the book's languages ({known}){maybe}; "
                    "add it to  languages  in the settings, or use one of those",
                    rule,
                )
                broken = True
                continue
            if not isinstance(source, str):
                self.error(at, f"the {code} reply must be a text in quotes, {example}", rule)
                broken = True
                continue
            template, problems = self.templates.inline(
                source, file=self.file, line=at, rule=rule, locale=code
            )
            self.problems.extend(problems)
            if template is None:
                broken = True
                continue
            compiled.append((code, template))
        default = languages[0]
        if not broken and default not in dict(compiled):
            self.error(
                line,
                f"'text' has no {default} reply, and {default} is the default language (the "
                f'first of  languages): add  {default}: "..."  for the customers whose '
                "language is not known",
                rule,
            )
            return "", None, ()
        if broken:
            return "", None, ()
        return "", dict(compiled)[default], tuple(compiled)

    def _reply_name(self, block: Located, rule: str) -> str:
        """The template named by ``reply``; "" after reporting why there is none."""
        name, why = reply_template(self.templates, block["reply"])
        if why:
            self.error(block.line_of("reply"), why, rule)
        return name

    def _attachment(self, block: Located, rule: str) -> dict[str, str] | None:
        if "attachment" not in block:
            return None
        line = block.line_of("attachment")
        found: dict[str, str] | None = self.convert(
            parse_attachment, block["attachment"], line, rule
        )
        return found
