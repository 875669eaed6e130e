"""A reply's attachment: ``attachment:`` in a rule, one storage reference or one per language.

The reference is the platform's (``s3_attachment`` of the reply call); its format is the
platform's too, so it is checked only for being one line of text. How rule authors write it
is in ``docs/rules.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from responder.engine.locales import fallbacks, locale_key

__all__ = ["parse_attachment", "select_attachment"]

_LONGEST = 1_024
_EXAMPLE = 'like  attachment: "uploads/menu-2026.pdf"'


def parse_attachment(value: Any) -> dict[str, str]:
    """``attachment:``: a reference, or language codes with a reference each.

    Returns the references by language key (``ms-my``); the first one listed is also filed
    under ``""``, for customers in any other language. Raises ValueError with a sentence.
    """
    if isinstance(value, Mapping):
        if not value:
            raise ValueError(
                f"'attachment' lists no languages, {_EXAMPLE}  or  {{en: ..., es: ...}}"
            )
        found: dict[str, str] = {}
        for language, reference in value.items():
            key = locale_key(str(language))
            if not key or key in found:
                raise ValueError(f"'{language}' is not a language code for 'attachment'")
            found[key] = _reference(reference, f" for '{language}'")
        return {"": next(iter(found.values())), **found}
    return {"": _reference(value, "")}


def select_attachment(attachments: Mapping[str, str], locale: str) -> str:
    """The reference for a customer in ``locale`` (most precise language first), or ``""``."""
    for key in fallbacks(locale):
        if key in attachments:
            return attachments[key]
    return ""


def _reference(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"the attachment{where} must be the platform's reference of a file, {_EXAMPLE}"
        )
    reference = value.strip()
    if "\n" in reference or len(reference) > _LONGEST:
        raise ValueError(
            f"the attachment{where} must be one line of at most {_LONGEST} characters, {_EXAMPLE}"
        )
    return reference
