"""Template names and languages: what a file name says, and which files fit a lead's language.

``welcome.ms-MY.j2`` is the template ``welcome`` in the language ``ms-MY``; a lead whose
language is ``ms_MY.UTF-8`` is served by ``welcome.ms-MY.j2``, else ``welcome.ms.j2``, else
``welcome.j2``.
"""

from __future__ import annotations

import re

__all__ = ["fallbacks", "locale_key", "split_name"]

_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*")


def split_name(stem: str) -> tuple[str, str]:
    """A template file's path inside its folder, less ``.j2``: its template and its language.

    ``faq/pricing.ms-MY`` gives ``("faq/pricing", "ms-MY")``; a last dotted part that does not
    look like a language stays in the name (``v1.2`` gives ``("v1.2", "")``).
    """
    folder, _, base = stem.rpartition("/")
    head, dot, suffix = base.rpartition(".")
    if dot and head and _LOCALE.fullmatch(suffix):
        return f"{folder}/{head}" if folder else head, _canonical(suffix)
    return stem, ""


def locale_key(locale: str) -> str:
    """``locale`` as a lower-case key without encoding or modifier: ``ms_MY.UTF-8`` -> ``ms-my``."""
    return re.split(r"[.@]", locale.strip(), maxsplit=1)[0].replace("_", "-").lower()


def _canonical(locale: str) -> str:
    parts = locale_key(locale).split("-")
    shaped = [parts[0]]
    for part in parts[1:]:
        shaped.append(part.upper() if len(part) == 2 else part.title() if len(part) == 4 else part)
    return "-".join(shaped)


def fallbacks(locale: str) -> list[str]:
    """The keys to try for ``locale``, most precise first: ``ms-MY`` -> ms-my, ms, ""."""
    parts = [part for part in locale_key(locale).split("-") if part]
    return ["-".join(parts[:count]) for count in range(len(parts), 0, -1)] + [""]
