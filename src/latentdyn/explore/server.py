"""Serving the explorer with uvicorn on a socket bound here, so that a port in use is
one line before anything starts, and ``port 0`` picks a free one."""

from __future__ import annotations

import socket
import threading
import time
import webbrowser
from typing import Callable

from latentdyn.errors import ConfigError


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port``; one line when that is impossible."""
    if not 0 <= int(port) <= 65535:
        raise ConfigError(f"--port must be in 0..65535, got {port}")
    try:
        found = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        family, kind, proto, _, address = sorted(found, key=lambda a: a[0] != socket.AF_INET)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"--host {host!r}: not an address of this machine ({exc})") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {host}:{port} ({why}); choose another --port"
                          ) from None
    return sock


WILDCARDS = ("", "0.0.0.0", "::")


def url_of(sock: socket.socket, host: str) -> str:
    """The page's address: ``host`` as given (127.0.0.1 for a wildcard address)."""
    port = sock.getsockname()[1]
    host = "127.0.0.1" if host in WILDCARDS else host
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}/"


def make_server(app, log_level: str = "warning"):
    """A uvicorn server for ``app`` (no lifespan, no access log)."""
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, lifespan="off", access_log=False)
    return uvicorn.Server(config)


def serve(app, sock: socket.socket, host: str, *, open_browser: bool = False,
          on_ready: Callable[[str], None] | None = None) -> None:
    """Serve ``app`` on ``sock`` until interrupted; open the page in the user's browser
    once it is up when ``open_browser``."""
    server = make_server(app)
    url = url_of(sock, host)

    def when_started():
        while not server.started and not server.should_exit:
            time.sleep(0.05)
        if server.started:
            if on_ready is not None:
                on_ready(url)
            if open_browser:
                webbrowser.open(url)

    threading.Thread(target=when_started, daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C once it has shut down cleanly
        pass
    finally:
        sock.close()
