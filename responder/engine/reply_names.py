"""Which template a rule's ``reply:`` names, or why it names none, in a sentence.

A name is a name, never a pattern, and never one language file of a template; the template
must have its default file, or customers in other languages get no answer. A template whose
file exists but cannot be used is reported at that file, once, and not again here.
"""

from __future__ import annotations

from typing import Any

from responder.engine.problems import did_you_mean
from responder.engine.templates import TemplateLibrary, split_name

__all__ = ["reply_template"]


def reply_template(templates: TemplateLibrary, value: Any) -> tuple[str, str]:
    """``(name, "")`` for a usable template, else ``("", why)``; ``why`` is "" when the
    template's own file already carries the error.
    """
    if not isinstance(value, str) or not value.strip():
        return "", "'reply' must be a template name"
    name = value.strip().removesuffix(".j2")
    if any(mark in name for mark in "*?[]"):
        example = did_you_mean(name, templates.names()) or ", like  reply: welcome"
        return "", (
            f"'{name}' is not a template name: a name cannot contain * ? [ ]; write the "
            f"name of one template in full{example}"
        )
    if templates.has(name):
        variants = templates.variants(name)
        if not variants[0].locale:
            return name, ""
        folder = templates.directory_name
        if templates.has_default_file(name):
            return "", ""  # the default file does not compile: reported with its line
        others = ", ".join(f"{name}.{template.locale}.j2" for template in variants)
        return "", (
            f"there is no default file {folder}/{name}.j2, so a customer whose language has "
            f"no file of its own gets no reply (there is only {others}): add {name}.j2"
        )
    folder = templates.directory_name
    base, language = split_name(name)
    if language:
        missing = (
            ""
            if templates.has_file(base)
            else f"; there is no template file {folder}/{base}.j2 yet"
        )
        return "", (
            f"'{name}' is the {language} language file of a template; write the name "
            f"without the language,  reply: {base}  (every customer gets the file of their "
            f"own language by itself){missing}"
        )
    if templates.has_file(name):
        return "", ""  # the file does not compile or cannot be read: reported with its line
    misnamed = templates.misnamed_files(name)
    found = (
        f"; {misnamed[0]} is there, but a template file's name must end in .j2: "
        f"rename it to {name.rpartition('/')[2]}.j2"
        if misnamed
        else did_you_mean(name, templates.names())
    )
    return "", f"there is no template file {folder}/{name}.j2{found}"
