"""A round of a query on a cluster over plain TCP connections, beside Dask's own messages.

Dask places the shard groups and keeps them alive (actors), but a round of a query through
Dask's messages costs more than a small query's work: each message goes through Dask's
framing and serializers and the client's event loop thread, and is handled on the worker's
event loop among its heartbeats. So each :class:`~newsindex.cluster.shard.ShardGroup` also
serves a TCP port of its worker's own host (:class:`Listener`, a thread per connection), and
the coordinator keeps connections to it open (:class:`Connections`) and sends a round's
messages from the thread that searches: a message is a length and a pickled payload.

Trust is the one Dask's own ``tcp://`` messages have (they carry pickles too): a port only
where the worker's Dask address is plain TCP (with TLS, Dask's messages are used), bound to
the host of that address, and a connection is served only after it sends the listener's
random token, which the coordinator learns through Dask. Never for index files.

A listener lives while its group does: it holds the group weakly and stops once Dask drops
the actor (the coordinator's index closed, or its commit replaced).
"""

from __future__ import annotations

import hmac
import secrets
import socket
import struct
import threading
import weakref
from collections.abc import Callable
from typing import Any

#: Bytes of the token a connection sends first.
TOKEN_BYTES = 32
_HEADER = struct.Struct("<Q")
#: Seconds a listener waits for a connection before it checks whether its group still lives.
_POLL = 1.0
#: Seconds to connect, and for a new connection to send its token.
_CONNECT = 5.0


def recv_exact(sock: socket.socket, n: int) -> bytearray:
    """``n`` bytes from ``sock``; ConnectionError if it closes first."""
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        r = sock.recv_into(view[got:])
        if r == 0:
            raise ConnectionError("the connection closed")
        got += r
    return buf


def send_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(len(payload)) + payload)


def recv_frame(sock: socket.socket) -> bytearray:
    (n,) = _HEADER.unpack(recv_exact(sock, _HEADER.size))
    return recv_exact(sock, n)


def _tuned(sock: socket.socket) -> socket.socket:
    # (a round is one small message each way: never wait to fill a packet)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    return sock


class Listener:
    """Serves ``answer(owner, payload) -> reply`` on a port of ``host`` while ``owner`` lives,
    to connections that first send :attr:`token`."""

    def __init__(self, owner: Any, answer: Callable[[Any, bytearray], bytes], host: str):
        self.token = secrets.token_bytes(TOKEN_BYTES)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.create_server((host, 0), family=family)
        self._sock.settimeout(_POLL)
        self.port: int = self._sock.getsockname()[1]
        self._owner = weakref.ref(owner)
        self._answer = answer
        self._stopped = False
        threading.Thread(target=self._accept, name="newsindex-listener", daemon=True).start()

    def stop(self) -> None:
        self._stopped = True

    def _live(self) -> object | None:
        return None if self._stopped else self._owner()

    def _accept(self) -> None:
        with self._sock:
            while self._live() is not None:
                try:
                    conn, _ = self._sock.accept()
                except TimeoutError:
                    continue
                except OSError:
                    return
                threading.Thread(
                    target=self._serve, args=(conn,), name="newsindex-connection", daemon=True
                ).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(_CONNECT)
                if not hmac.compare_digest(bytes(recv_exact(conn, TOKEN_BYTES)), self.token):
                    return
                conn.settimeout(None)
                _tuned(conn)
                while True:
                    payload = recv_frame(conn)
                    owner = self._live()
                    if owner is None:
                        return
                    reply = self._answer(owner, payload)
                    del owner
                    send_frame(conn, reply)
            except OSError:
                return  # (the coordinator closed it, or went away)


class Connections:
    """Open connections to one :class:`Listener`, reused round after round: a round takes
    one (a new one if every open one is in use by another thread) and puts it back once its
    reply is read, so a connection never holds half of another round's reply."""

    def __init__(self, host: str, port: int, token: bytes):
        self._where = (host, port)
        self._token = token
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False

    def take(self) -> socket.socket:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        sock = socket.create_connection(self._where, timeout=_CONNECT)
        try:
            sock.sendall(self._token)
            sock.settimeout(None)
            return _tuned(sock)
        except BaseException:
            sock.close()
            raise

    def give_back(self, sock: socket.socket) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(sock)
                return
        sock.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for sock in idle:
            sock.close()
