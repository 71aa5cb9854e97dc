"""`runserver` whose accepted connections set TCP_NODELAY and run on a pool of threads.

Django's development server writes a response in several small sends (status line and
headers, then the body). On a keep-alive connection, Nagle's algorithm holds the later send
until the client acknowledges the first, and clients delay that acknowledgement (~40 ms on
Linux): every keep-alive call stalled by ~40 ms. TCP_NODELAY sends each write at once.

It also starts a new thread for every connection, and a new thread pays for everything kept
per thread: its database connection, the native libraries' per-thread set-up (OpenMP, BLAS)
and the serving thread limits. A prediction on a new connection cost ~9 ms more than on a
kept one. Here connections are served by a pool of reused threads (DEV_SERVER_THREADS, 32);
an idle keep-alive connection is closed after DEV_SERVER_KEEPALIVE_S (15 s), so idle
browsers cannot hold every thread.

This app is listed before `whitenoise.runserver_nostatic`, whose command (no static handler;
whitenoise serves static files) this one extends.
"""

from __future__ import annotations

import os
import socket
import socketserver
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.core.servers.basehttp import WSGIServer
from whitenoise.runserver_nostatic.management.commands.runserver import (
    Command as NoStaticCommand,
)


class PooledThreadingMixIn(socketserver.ThreadingMixIn):
    """ThreadingMixIn on a bounded pool of reused threads instead of a thread per connection.

    Django's `runserver` would mix its own ThreadingMixIn in front; the command below asks it
    for a non-threading server and brings its threads itself.
    """

    daemon_threads = True

    pool_size = int(os.environ.get("DEV_SERVER_THREADS", "32"))
    _pool: ThreadPoolExecutor | None = None

    def process_request(self, request: Any, client_address: Any) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.pool_size, thread_name_prefix="runserver")
        self._pool.submit(self.process_request_thread, request, client_address)

    def server_close(self) -> None:
        super().server_close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


class NoDelayWSGIServer(WSGIServer):
    """The development server; each accepted socket sends its writes without delay."""

    keepalive_s = float(os.environ.get("DEV_SERVER_KEEPALIVE_S", "15"))

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # An idle keep-alive connection times out (the handler closes it) and frees its thread.
        conn.settimeout(self.keepalive_s)
        return conn, address


class PooledNoDelayWSGIServer(PooledThreadingMixIn, NoDelayWSGIServer):
    """The development server on a pool of threads (what `runserver` uses by default)."""


class Command(NoStaticCommand):
    server_cls: type[NoDelayWSGIServer] = PooledNoDelayWSGIServer

    def inner_run(self, *args: Any, **options: Any) -> None:
        if options.get("use_threading", True):
            # Our server brings its own (pooled) threads: Django must not add its own.
            options = {**options, "use_threading": False}
        else:
            self.server_cls = NoDelayWSGIServer  # --nothreading: one request at a time
        super().inner_run(*args, **options)
