"""gunicorn settings for the web process: `gunicorn -c config/gunicorn.py config.wsgi`.

Threaded workers keep connections alive (the sync worker closes each one), so API clients
that reuse a connection skip a TCP handshake per call. gunicorn sets TCP_NODELAY on its
listening socket and Linux gives every accepted connection the same option, so responses
are never held back by Nagle's algorithm. Every value can be set from the environment.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# One process per core serves predictions in parallel; each holds its own model cache.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE_S", "5"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT_S", "120"))
# Empty turns the access log off.
# With LOG_FORMAT=json the app writes its own access line (with request id, user, workspace).
accesslog = os.environ.get(
    "GUNICORN_ACCESS_LOG", "" if os.environ.get("LOG_FORMAT") == "json" else "-") or None
