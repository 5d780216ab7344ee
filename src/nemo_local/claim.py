"""Claiming a listening socket before the backend starts, with the standard library only.

``serve --local`` claims the data folder (``persist.owned``) and a socket before it answers
``initialize``: the URL is then known and connectable at once (a request waits in the socket's
backlog until uvicorn accepts it), while the backend itself is imported and started in the
background. ``LocalBackend`` binds its own socket the same way when it is given none.
"""

from __future__ import annotations

import socket


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket whose accepted connections send small writes at once.

    The protocol is named (``IPPROTO_TCP``, not 0) because asyncio only disables Nagle on a
    transport whose socket says it is TCP; with proto 0 every keep-alive answer (headers, then
    body) waited ~40 ms on the client's delayed ACK. The listener also carries TCP_NODELAY,
    which Linux hands down to accepted sockets."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (IPv6 hosts in brackets)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"
