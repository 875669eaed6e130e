"""Production defaults for gunicorn, used by ``responder serve``.

Loaded with ``gunicorn -c python:responder.server.gunicorn_conf``.

- the service's own worker (responder/server/worker.py): an event loop holds the connections,
  so clients that connect and stop sending cost a socket each and never a thread, and a pool
  of threads runs the Flask app on complete requests only.
- two worker processes by default (one per core of a small machine), each on a core of its
  own (responder/server/cores.py); each also runs the
  sender pool that talks to the ABC API (see responder/server/service.py), so the sending
  capacity grows with the workers.
- ``timeout`` kills a worker stuck for 30 s; its jobs come back to another worker after
  their lease (RESPONDER_LEASE).
- a worker starts its responder's threads once it is ready to serve (``post_worker_init``),
  and on exit finishes the sends it has started before it closes its connections.

Bind address, workers, threads, the request deadlines and logging come from the configuration
(:mod:`responder.config`: RESPONDER_BIND, RESPONDER_WORKERS, RESPONDER_THREADS,
RESPONDER_HEADER_TIMEOUT, RESPONDER_BODY_TIMEOUT, RESPONDER_LOG_LEVEL, RESPONDER_ACCESS_LOG).
"""

from __future__ import annotations

from typing import Any

from responder.config import load_config, metrics_multiprocess_folder, share_metrics_folder
from responder.lifeline import end_with_serve
from responder.server.cores import choose_core, pin
from responder.server.logs import GunicornLogger, configure_logging

_config = load_config(check=False)

bind = _config.bind
workers = _config.workers
# The threads that run the app are the worker's own (RESPONDER_THREADS); gunicorn's
# ``threads`` setting belongs to its thread worker.
worker_class = "responder.server.worker.ResponderWorker"
asgi_lifespan = "off"
timeout = 30
graceful_timeout = 30
keepalive = 5
backlog = 2048
errorlog = "-"
# gunicorn's control socket would be one file in the user's home shared by every instance on
# the machine; nothing here uses it.
control_socket_disable = True
loglevel = _config.log_level
# gunicorn's own lines in the service's format (RESPONDER_LOG_FORMAT).
GunicornLogger.log_format = _config.log_format
logger_class = GunicornLogger
# Off unless asked for. (A logconfig_dict would switch it on for good, so the app's logging
# is set up in post_fork instead.)
accesslog = _config.access_log or None


def on_starting(server: Any) -> None:
    """Stop when the ``responder serve`` that started this master ends (responder/lifeline.py).
    Give the workers an empty folder to count their metrics in (responder/server/
    metrics.py): counts left by an earlier run would be added to this one's."""
    end_with_serve()
    if not _config.metrics:
        return
    folder = _config.metrics_folder()
    folder.mkdir(parents=True, exist_ok=True)
    for counts in folder.glob("*.db"):  # only prometheus-client's files, whatever the folder
        counts.unlink(missing_ok=True)
    # Read by prometheus-client when a worker first imports it, after the fork.
    share_metrics_folder(folder)


def child_exit(server: Any, worker: Any) -> None:
    """A worker has exited, however it ended (killed ones too): its gauges stop counting."""
    if metrics_multiprocess_folder():
        from prometheus_client import multiprocess  # only the master, only then

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def pre_fork(server: Any, worker: Any) -> None:
    """Choose the worker's core here, in the master, which knows every live worker's: chosen
    in the workers themselves, two starting at once could pick the same one."""
    if _config.pin_workers:
        worker.core = choose_core(getattr(w, "core", None) for w in server.WORKERS.values())


def post_fork(server: Any, worker: Any) -> None:
    """Run on the core chosen for this worker (responder/server/cores.py). Send the
    responder's own log lines where gunicorn's go, in one format, with control characters
    escaped (see responder/server/logs.py)."""
    core = getattr(worker, "core", None)
    if core is not None:
        pin(core)
    configure_logging(loglevel, _config.log_format)


def post_worker_init(worker: Any) -> None:
    """The app is loaded in this worker: start its responder's threads."""
    service = _service(worker)
    if service is not None:
        service.start()


def worker_exit(server: Any, worker: Any) -> None:
    """Let the worker's requests and in-flight sends finish, then close its connections."""
    bridge = getattr(worker, "asgi", None)
    if bridge is not None:
        bridge.close()
    service = _service(worker)
    if service is not None:
        service.close()


def _service(worker: Any) -> Any:
    # A worker that failed to boot has no app (``asgi`` is unset or holds no Flask app).
    extensions = getattr(getattr(getattr(worker, "asgi", None), "app", None), "extensions", None)
    return extensions.get("responder") if isinstance(extensions, dict) else None
