"""The Flask adapter: translate the request, call the pipeline, translate the answer."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from responder.config import load_config
from responder.errors import (
    BadSignature,
    DeliveryRejected,
    MalformedDelivery,
    PayloadTooLarge,
    StaleDelivery,
    StoreUnavailable,
)
from responder.events import NO_EVENTS
from responder.server.metrics import PrometheusEvents, scrape
from responder.server.service import Service


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the WSGI app: config from defaults, then the environment, then ``test_config``.

    Starts no thread: the service starts when the worker is ready to serve (gunicorn's
    ``post_worker_init`` in responder/server/gunicorn_conf.py), or else with the first request.
    """
    config = load_config(overrides=test_config)
    events = PrometheusEvents() if config.metrics else NO_EVENTS
    service = Service(config, events)
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
            events.delivery("refused", _REFUSALS.get(type(exc), "malformed"))
            return jsonify(error=_PUBLIC_ERRORS[exc.status]), exc.status
        except StoreUnavailable as exc:
            app.logger.error("delivery not accepted, store unavailable: %s", exc)
            events.delivery("refused", "store_unavailable")
            events.store_error("accept")
            return jsonify(error="temporarily unavailable, deliver again later"), 503
        events.delivery(str(answer.body.get("status", "")))
        return jsonify(answer.body), answer.status

    if config.metrics:

        @app.get("/metrics")
        def metrics() -> ResponseReturnValue:
            if config.metrics_token and not _bearer_matches(config.metrics_token):
                return jsonify(error="unauthorized"), 401, {"WWW-Authenticate": "Bearer"}
            text, content_type = scrape()
            return text, 200, {"Content-Type": content_type}

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


def _bearer_matches(token: str) -> bool:
    """The request carries ``Authorization: Bearer <token>`` (compared in constant time)."""
    sent = request.headers.get("Authorization", "")
    scheme, _, value = sent.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


_REFUSALS: Mapping[type[DeliveryRejected], str] = {
    BadSignature: "signature",
    StaleDelivery: "stale",
    PayloadTooLarge: "too_large",
    MalformedDelivery: "malformed",
}

# What a sender is told: nothing that helps an attacker tell one failure from another.
_PUBLIC_ERRORS = {
    400: "malformed delivery",
    401: "unauthorized",
    413: "payload too large",
}
