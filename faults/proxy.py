"""A real TCP proxy on 127.0.0.1 that can be cut: the "OpenSearch unreachable" fault.

The connector is pointed at the proxy instead of OpenSearch. :meth:`TcpProxy.cut` closes every
open connection and makes new ones close at once (the client sees connection resets and
refusals, as when the node is down); :meth:`TcpProxy.restore` lets traffic through again. One
thread accepts, two threads per connection pump bytes.
"""

from __future__ import annotations

import logging
import socket
import threading

__all__ = ["TcpProxy"]

logger = logging.getLogger(__name__)


class TcpProxy:
    """Forward ``127.0.0.1:<port>`` to ``target`` (``host, port``) until cut.

    Examples
    --------
    >>> with TcpProxy(("127.0.0.1", 9)) as proxy:
    ...     proxy.port > 0, proxy.url
    (True, 'http://127.0.0.1:...')
    """

    def __init__(self, target: tuple[str, int], port: int = 0) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", port))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = False
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until :meth:`restore`."""
        with self._lock:
            self._cut = True
            for sock in list(self._open):
                _close(sock)
            self._open.clear()
        logger.info("proxy cut port=%s", self.port)

    def restore(self) -> None:
        with self._lock:
            self._cut = False
        logger.info("proxy restored port=%s", self.port)

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._cut:
                    _close(client)
                    continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(src)
                self._open.discard(dst)
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
