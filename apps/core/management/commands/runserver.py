"""`runserver` whose accepted connections set TCP_NODELAY.

Django's development server writes a response in several small sends (status line and
headers, then the body). On a keep-alive connection, Nagle's algorithm holds the later send
until the client acknowledges the first, and clients delay that acknowledgement (~40 ms on
Linux): every keep-alive call stalled by ~40 ms. TCP_NODELAY sends each write at once.

This app is listed before `whitenoise.runserver_nostatic`, whose command (no static handler;
whitenoise serves static files) this one extends.
"""

from __future__ import annotations

import socket
from typing import Any

from django.core.servers.basehttp import WSGIServer
from whitenoise.runserver_nostatic.management.commands.runserver import (
    Command as NoStaticCommand,
)


class NoDelayWSGIServer(WSGIServer):
    """The development server; each accepted socket sends its writes without delay."""

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        if conn.family in (socket.AF_INET, socket.AF_INET6):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address


class Command(NoStaticCommand):
    server_cls = NoDelayWSGIServer
