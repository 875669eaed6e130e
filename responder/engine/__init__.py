"""The rules engine: normalise, match, decide, render. Plain functions over values.

Everything a rule author's book needs lives here: durations and business hours, the text
normaliser and the keyword and pattern matchers, the rule-book model, its loader and
validation, the reply templates, :func:`~responder.engine.decide.decide` and the authoring
tools behind ``check``, ``try`` and ``chat``.

May import: the standard library (but not ``threading`` or ``sqlite3``), ``responder.model``,
``responder.errors``, and the pure libraries jinja2, PyYAML, google-re2 and pyahocorasick.
Never flask, werkzeug, httpx or redis: no network, no database, no threads. Reading rule and
template files is the loader's one I/O. ``tests/engine/test_layering.py`` enforces it.
"""
