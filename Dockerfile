# The auto-responder: gunicorn serving the webhook, rules and templates mounted as volumes.
#   docker build -t abc-responder .
#   docker run -p 8080:8080 -e ABC_API_KEY=... -e ABC_WEBHOOK_SECRET=... \
#     -v "$PWD/rules:/app/rules:ro" -v "$PWD/templates:/app/templates:ro" -v responder-var:/app/var \
#     abc-responder
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RESPONDER_BIND=0.0.0.0:8080 \
    RESPONDER_RULES=/app/rules \
    RESPONDER_TEMPLATES=/app/templates \
    RESPONDER_STORE=/app/var/responder.db

WORKDIR /app

# Dependencies first, from pyproject.toml, so that code changes reuse this layer.
COPY pyproject.toml README.md ./
COPY responder/__init__.py responder/__init__.py
RUN pip install --no-compile . && pip uninstall --yes responder

COPY responder/ responder/
COPY app.py ./
COPY rules/ rules/
COPY templates/ templates/
RUN pip install --no-compile --no-deps . \
    && useradd --system --uid 10001 --home-dir /app responder \
    && mkdir -p /app/var \
    && chown responder /app/var

USER 10001
VOLUME ["/app/rules", "/app/templates", "/app/var"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]

CMD ["gunicorn", "-c", "python:responder.server.gunicorn_conf", "app:app"]
