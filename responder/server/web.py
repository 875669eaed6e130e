"""The Flask adapter: translate the request, call the pipeline, translate the answer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from responder.config import load_config
from responder.errors import DeliveryRejected, StoreUnavailable
from responder.server.service import Service


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the WSGI app: config from defaults, then the environment, then ``test_config``.

    Starts no thread: the service starts when the worker is ready to serve (gunicorn's
    ``post_worker_init`` in responder/server/gunicorn_conf.py), or else with the first request.
    """
    config = load_config(overrides=test_config)
    service = Service(config)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions["responder"] = service
    app.before_request(service.start)
    if config.console:
        from responder.console import register

        register(app, service)

    @app.post("/webhook")
    def webhook() -> ResponseReturnValue:
        body = request.get_data(cache=False)
        try:
            answer = service.responder.receive(body, dict(request.headers))
        except DeliveryRejected as exc:
            app.logger.warning("delivery refused (%d): %s", exc.status, exc)
            return jsonify(error=_PUBLIC_ERRORS[exc.status]), exc.status
        except StoreUnavailable as exc:
            app.logger.error("delivery not accepted, store unavailable: %s", exc)
            return jsonify(error="temporarily unavailable, deliver again later"), 503
        return jsonify(answer.body), answer.status

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        return jsonify(status="alive")

    @app.get("/readyz")
    def readyz() -> ResponseReturnValue:
        problem = service.readiness()
        if problem:
            return jsonify(status="not ready", reason=problem), 503
        rules = {**service.live.status(), "count": len(service.responder.book.all_rules)}
        return jsonify(status="ready", rules=rules)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        # Keep the exception's own headers (a 405's Allow) but answer in JSON.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return jsonify(error=exc.description), exc.code or 500, headers

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ResponseReturnValue:
        app.logger.exception("unexpected error")
        return jsonify(error="internal error"), 500

    return app


# What a sender is told: nothing that helps an attacker tell one failure from another.
_PUBLIC_ERRORS = {
    400: "malformed delivery",
    401: "unauthorized",
    413: "payload too large",
}
