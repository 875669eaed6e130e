"""Production defaults for gunicorn, used by ``responder serve``.

Loaded with ``gunicorn -c python:responder.server.gunicorn_conf``.

- ``gthread`` workers: the webhook does little CPU work and must answer within milliseconds
  even while other requests are in flight; a few threads per process cover that.
- two worker processes by default (one per core of a small machine); each also runs the
  sender pool that talks to the ABC API (see responder/server/service.py), so the sending capacity
  grows with the workers.
- ``timeout`` kills a worker stuck for 30 s; its jobs come back to another worker after
  their lease (RESPONDER_LEASE).
- on exit a worker finishes the sends it has started before it closes its connections.

Each value can be changed with the environment variable named beside it.
"""

from __future__ import annotations

import logging
import os
from typing import Any

bind = os.environ.get("RESPONDER_BIND", "127.0.0.1:8080")  # RESPONDER_BIND
workers = int(os.environ.get("RESPONDER_WORKERS", "2"))  # RESPONDER_WORKERS
threads = int(os.environ.get("RESPONDER_THREADS", "8"))  # RESPONDER_THREADS
worker_class = "gthread"
timeout = 30
graceful_timeout = 30
keepalive = 5
backlog = 2048
errorlog = "-"
loglevel = os.environ.get("RESPONDER_LOG_LEVEL", "info")  # RESPONDER_LOG_LEVEL
# RESPONDER_ACCESS_LOG ("-": stdout); off by default: a line per delivery costs CPU. (A
# logconfig_dict would switch it on for good, so the app's logging is set up in post_fork.)
accesslog = os.environ.get("RESPONDER_ACCESS_LOG") or None


def post_fork(server: Any, worker: Any) -> None:
    """Send the responder's own log lines where gunicorn's go, in one format."""
    logging.basicConfig(
        level=loglevel.upper(),
        format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)


def worker_exit(server: Any, worker: Any) -> None:
    """Let the worker's responder finish its in-flight sends and close its connections."""
    service = getattr(worker.wsgi, "extensions", {}).get("responder")
    if service is not None:
        service.close()
