"""WSGI entry point: ``gunicorn app:app`` (``responder serve`` adds production settings)."""

from responder.server.web import create_app

app = create_app()
