"""A burst of messages as one (``settings: gather``): the text decided on. A pure function.

The service (:mod:`responder.gather`), ``responder try`` with several messages and
``responder chat`` all decide on the same text: the messages in the order they were written,
one per line, blank ones left out.
"""

from __future__ import annotations

from collections.abc import Iterable

#: A burst is answered at the latest this many times ``gather`` after it opened, however
#: many messages keep arriving (the service, try and chat alike).
GATHER_CAP = 3


def joined_text(texts: Iterable[str]) -> str:
    """The texts of a burst, oldest first, as the one message its rules are tried on."""
    return "\n".join(text for text in texts if text.strip())
