"""Both web servers we document send responses without waiting for the client's delayed ACK:
accepted connections have TCP_NODELAY (keep-alive calls on the development server were ~42 ms
slower than fresh connections without it)."""

from __future__ import annotations

import runpy
import socket
from pathlib import Path

from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[2]


def _accepted_nodelay(listener_accept: object, address: tuple[str, int]) -> int:
    with socket.create_connection(address, timeout=5):
        conn, _ = listener_accept()  # type: ignore[operator]
        try:
            return conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            conn.close()


def test_runserver_sets_tcp_nodelay_on_accepted_connections() -> None:
    assert get_commands()["runserver"] == "apps.core"
    command = load_command_class("apps.core", "runserver")
    server = command.server_cls(("127.0.0.1", 0), object, ipv6=False)
    try:
        assert _accepted_nodelay(server.get_request, server.server_address) == 1
    finally:
        server.server_close()


def test_runserver_keeps_serving_static_files_through_whitenoise() -> None:
    command = load_command_class("apps.core", "runserver")
    parser = command.create_parser("manage.py", "runserver")
    assert parser.get_default("use_static_handler") is False


def test_gunicorn_connections_get_tcp_nodelay_with_our_settings() -> None:
    from gunicorn.config import Config
    from gunicorn.sock import create_sockets

    conf = Config()
    for key, value in runpy.run_path(str(ROOT / "config" / "gunicorn.py")).items():
        if key in conf.settings:
            conf.set(key, value)
    conf.set("bind", "127.0.0.1:0")
    assert conf.worker_class_str == "gthread" and conf.keepalive > 0  # keep-alive served

    class Log:
        def info(self, *args: object) -> None: ...
        debug = error = warning = info

    [listener] = create_sockets(conf, Log())
    try:
        assert _accepted_nodelay(listener.sock.accept, listener.sock.getsockname()) == 1
    finally:
        listener.close()


def test_runserver_serves_connections_on_a_pool_of_reused_threads() -> None:
    """A new connection does not start a new thread (which paid ~9 ms of per-thread set-up)."""
    import http.client
    import threading

    from apps.core.management.commands.runserver import PooledNoDelayWSGIServer

    seen: list[int] = []

    def app(environ: dict, start_response: object) -> list[bytes]:
        seen.append(threading.get_ident())
        start_response("200 OK", [("Content-Length", "2")])  # type: ignore[operator]
        return [b"ok"]

    from django.core.servers.basehttp import WSGIRequestHandler

    server = PooledNoDelayWSGIServer(("127.0.0.1", 0), WSGIRequestHandler, ipv6=False)
    server.set_app(app)
    runner = threading.Thread(target=server.serve_forever, daemon=True)
    runner.start()
    try:
        host, port = server.server_address[:2]
        for _ in range(20):  # a new connection per request
            conn = http.client.HTTPConnection(host, port, timeout=10)
            conn.request("GET", "/", headers={"Connection": "close"})
            assert conn.getresponse().read() == b"ok"
            conn.close()
    finally:
        server.shutdown()
        server.server_close()
    assert len(seen) == 20 and len(set(seen)) <= server.pool_size
    assert len(set(seen)) < 20  # threads were reused
