"""The running service: the Flask adapter, the wiring of one process, gunicorn's settings.

- :mod:`~responder.server.web`: ``create_app()``, the webhook and health endpoints;
- :mod:`~responder.server.service`: one process's pipeline wired to its store, API client,
  sender pool and janitor thread;
- :mod:`~responder.server.gunicorn_conf`: production settings for gunicorn.

May import every other layer; nothing imports it but the entry points (``app.py``, the CLI).
"""
