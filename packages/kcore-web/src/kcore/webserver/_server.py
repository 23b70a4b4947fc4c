"""WebServer: the kcore web server for CPython (WebServerBase plus networking).

This module holds what a user configures and calls: limits, ``start`` and
``shutdown``, static files and WebSocket routes, and what happens to one
complete request (form parsing, the handler, the response). The connection
machinery is in ``_engine``, the sockets' readiness in ``_poller``, request
parsing in ``_http``, response writing in ``_writer``.
"""

import socket
import threading

from kcore.webserver._engine import Engine
from kcore.webserver._http import Limits, _compile_fast
from kcore.webserver._poller import make_poller
from kcore.webserver._writer import Closed, ResponseWriter, close_iter
from kcore.webserver_base import (
    TEXT_PLAIN,
    HttpError,
    Request,
    Response,
    WebServerBase,
    default_logging_adapter,
    request_from_wire,
    ws_varz_handler,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, List, Optional, Sequence, Tuple

    from kcore.webserver._engine import Conn
    from kcore.webserver._http import ParsedRequest


class Httpd:
    """``WebServer.httpd``: the listening side, with the stdlib server's
    names (``shutdown()``, ``server_close()``, ``server_address``) for
    programs that stop a serving thread that way."""

    def __init__(self, server: "WebServer") -> None:
        self._k_webserver = server

    @property
    def server_address(self) -> "Tuple[str, int]":
        s = self._k_webserver
        return (s.listen_address or "", s.port or 0)

    def shutdown(self) -> None:
        """Stop serving and wait until the serve loop has ended (from a
        handler: return at once, the loop ends after the response)."""
        self._k_webserver.shutdown()

    def server_close(self) -> None:
        """Stop listening (and serving, if that has not happened yet)."""
        s = self._k_webserver
        s.shutdown()

    def fileno(self) -> int:
        engine = self._k_webserver._engine
        return engine.listener_fd if engine is not None else -1


class WebServer(WebServerBase):
    """The kcore web server for CPython: WebServerBase plus networking.

    Construct with the WebServerBase arguments (routes, context, ...) plus
    the limits below, then :meth:`start`. Defaults are safe for a small
    service on a LAN or behind a proxy:

    ``max_connections`` open connections (more are answered 503 and closed),
    ``threads`` handler threads (16; one is active while handlers are quick,
    more are activated while handlers block),
    ``max_header_bytes``/``max_body`` request sizes (431/413),
    ``request_timeout`` seconds for a whole request to arrive once started
    (408), ``keepalive_timeout`` seconds an idle connection stays open,
    ``write_timeout`` seconds a client may take to accept a piece of a
    response, ``min_send_rate`` bytes a second a response must average
    after its first ``write_timeout`` seconds (None: no minimum),
    ``max_connections_per_address`` connections (WebSockets included) from
    one client address (more are answered 503; None: no cap; behind a
    reverse proxy every client has the proxy's address),
    ``max_websockets`` concurrent WebSocket sessions
    (each gets its own thread, apart from the handler pool).

    WebSockets: ``ws_ping_interval`` seconds without a frame from the
    client before the server pings, ``ws_ping_timeout`` seconds for the
    answer, ``ws_idle_timeout`` seconds a client may send no message (each
    None: off; see :mod:`kcore.webserver.websocket`).
    ``websocket_same_origin`` refuses (403, before the upgrade) a browser
    page from another origin than the server's, except the origins in
    ``websocket_allowed_origins`` (see
    :func:`~kcore.webserver.websocket.origin_allowed`); each route may also
    have its own ``accept`` check (:meth:`add_websocket_handler`).
    """

    def __init__(
        self,
        handlers: "Any" = None,
        port: "Optional[int]" = None,
        *args: "Any",
        max_connections: int = 1000,
        threads: int = 16,
        max_header_bytes: int = 16384,
        max_body: int = 1048576,
        request_timeout: float = 10.0,
        keepalive_timeout: float = 15.0,
        write_timeout: float = 10.0,
        max_websockets: int = 64,
        backlog: int = 1024,
        shutdown_grace: float = 5.0,
        force_selector: bool = False,
        max_connections_per_address: "Optional[int]" = 256,
        min_send_rate: "Optional[float]" = 1024.0,
        ws_ping_interval: "Optional[float]" = 20.0,
        ws_ping_timeout: "Optional[float]" = 20.0,
        ws_idle_timeout: "Optional[float]" = 300.0,
        websocket_same_origin: bool = False,
        websocket_allowed_origins: "Sequence[str]" = (),
        **kwargs: "Any",
    ) -> None:
        if kwargs.get("logging_adapter") is None:
            kwargs["logging_adapter"] = default_logging_adapter()
        super().__init__(handlers, port, *args, **kwargs)
        if threads < 1 or max_connections < 1:
            raise ValueError("threads and max_connections must be >= 1")
        if max_connections_per_address is not None and max_connections_per_address < 1:
            raise ValueError("max_connections_per_address must be >= 1 (or None: no cap)")
        self.max_connections = max_connections
        self.threads = threads
        self.limits = Limits(max_header_bytes=max_header_bytes, max_body=max_body)
        self.request_timeout = request_timeout
        self.keepalive_timeout = keepalive_timeout
        self.write_timeout = write_timeout
        self.max_websockets = max_websockets
        self.max_connections_per_address = max_connections_per_address
        self.min_send_rate = min_send_rate
        self.ws_ping_interval = ws_ping_interval
        self.ws_ping_timeout = ws_ping_timeout
        self.ws_idle_timeout = ws_idle_timeout
        self.websocket_same_origin = websocket_same_origin
        self.websocket_allowed_origins = tuple(websocket_allowed_origins)
        self.backlog = backlog
        self.shutdown_grace = shutdown_grace
        # (route regex, handler, subprotocols, accept)
        self.websocket_routes: List[Tuple[Any, Callable[..., Any], Any, Any]] = []
        self.listen_address: Optional[str] = None
        self.web_thread: Optional[threading.Thread] = None
        self.httpd: Optional[Httpd] = None
        self._force_selector = force_selector
        self._engine: Optional[Engine] = None
        self._writer = ResponseWriter(write_timeout, self.count, self._log_general)
        self._websockets: dict = {}
        self._ws_lock = threading.Lock()
        self._stopping = False
        if "/varz" in self.standard_handlers:
            self.standard_handlers["/varz"] = ws_varz_handler

    # ------------------------------------------------------------ routes

    def add_websocket_handler(
        self,
        route_regex: str,
        handler: "Callable[..., Any]",
        subprotocols: "Any" = None,
        accept: "Optional[Callable[[Request], Any]]" = None,
    ) -> None:
        """Serve WebSockets at ``route_regex``: ``handler(ws)`` runs in its own
        thread with a :class:`~kcore.webserver.websocket.WebSocket` (``ws.request``
        is the upgrade request). Plain HTTP requests there get 426.

        ``accept(request)``, if given, decides before the upgrade (after the
        server's Origin check): True to upgrade, False for a 403, or a
        :class:`Response` to send instead (a 401, a redirect, ...); e.g.
        ``accept=lambda r: origin_allowed(r, ["https://dash.example"])``."""
        import re

        from kcore.webserver_base import _normalize

        regex = _normalize(route_regex)
        self.websocket_routes.append((re.compile(regex), handler, subprotocols, accept))

    def add_static(self, url_prefix: str, directory: str, index: str = "index.html") -> None:
        """Serve the files under ``directory`` at ``url_prefix/...`` (no
        listing, nothing outside ``directory``, also through symlinks)."""
        from kcore.webserver.static import static_handler

        prefix = "/" + url_prefix.strip("/")
        if prefix == "/":
            prefix = ""
        escaped = "".join(["\\" + c if c in ".^$*+?{}[]\\|()" else c for c in prefix])
        self.add_handler(escaped + "/(.*)", static_handler(directory, index=index))

    # ------------------------------------------------------------ lifecycle

    def start(
        self,
        port: "Optional[int]" = None,
        listen: str = "127.0.0.1",
        background: bool = True,
        tls_cert_file: "Optional[str]" = None,
        tls_key_file: "Optional[str]" = None,
        tls_key_password: "Optional[str]" = None,
        tls_client_ca_file: "Optional[str]" = None,
        tls_client_cert_required: bool = True,
        server_class: "Any" = None,
    ) -> "Optional[threading.Thread]":
        """Bind, listen and serve. ``port`` 0 picks a free port (see
        ``self.port`` afterwards); ``listen`` defaults to loopback. TLS when
        ``tls_cert_file`` is given; with ``tls_client_ca_file`` clients must
        present a certificate signed by that CA (optional if
        ``tls_client_cert_required`` is False); the verified certificate is
        ``request.tls_peer_cert``. ``background`` returns the housekeeping
        thread; otherwise blocks until :meth:`shutdown`. ``server_class`` is
        accepted for compatibility with the original and ignored."""
        if port is None:
            port = self.port if self.port is not None else 80
        if self._engine is not None:
            raise RuntimeError("this WebServer is already started")
        self.max_connections = min(self.max_connections, _fd_budget())
        tls_context = None
        if tls_cert_file:
            tls_context = _tls_context(
                tls_cert_file,
                tls_key_file,
                tls_key_password,
                tls_client_ca_file,
                tls_client_cert_required,
            )
        family = socket.AF_INET6 if ":" in listen else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((listen, port))
            sock.listen(self.backlog)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self.listen_address = listen
        _compile_fast()  # now rather than in the first request
        engine = Engine(
            sock,
            make_poller(self._force_selector),
            self._handle,
            self._writer,
            self.count,
            self._log_general,
            self.limits,
            self.threads,
            self.max_connections,
            self.request_timeout,
            self.keepalive_timeout,
            self.shutdown_grace,
            tls_context=tls_context,
            on_stop=self._close_websockets,
            max_per_address=self.max_connections_per_address,
            write_timeout=self.write_timeout,
            min_send_rate=self.min_send_rate,
        )
        self._engine = engine
        self.httpd = Httpd(self)
        if self.varz_store is not None:
            self.varz_store.set("web-connections-open", engine.connection_count)
        thread = engine.run(background)
        self.web_thread = thread
        return thread

    def shutdown(self, timeout: "Optional[float]" = None) -> bool:
        """Stop: no new connections, in-flight requests finish (up to
        ``shutdown_grace`` seconds), idle connections and WebSockets close.
        From a handler it returns at once (the handler's response is still
        sent); from elsewhere it waits up to ``timeout`` seconds for the
        threads to end and returns True if they did."""
        self._stopping = True
        engine = self._engine
        if engine is not None:
            engine.stop()
        self._close_websockets()
        me = threading.current_thread()
        if engine is None or engine.loop_thread is None or engine.is_engine_thread(me):
            return False
        if me.name.startswith("kweb-ws-"):
            return False
        timeout = self.shutdown_grace + 5.0 if timeout is None else timeout
        return engine.stopped.wait(timeout)

    def close(self) -> None:
        self.shutdown()

    def __enter__(self) -> "WebServer":
        return self

    def __exit__(self, *exc: "Any") -> None:
        self.shutdown()

    def _close_websockets(self) -> None:
        with self._ws_lock:
            sessions = list(self._websockets.values())
        for ws in sessions:
            ws.close(1001, "server shutting down")

    def _log_general(self, msg: str) -> None:
        if self.logger is not None and self.logger.log_general is not None:
            self.logger.log_general(msg)

    # ------------------------------------------------------------ one request

    def _handle(self, conn: "Conn", preq: "ParsedRequest") -> str:
        """Run one request: 'keep', 'close' or 'detached' (WebSocket)."""
        method = preq.method
        keep_alive = preq.keep_alive and not self._stopping
        try:
            request = request_from_wire(
                method, preq.target, preq.version, preq.headers, preq.body, conn.addr, self
            )
            if conn.tls:
                request.tls_peer_cert = conn.sock.getpeercert() or None
            if self.websocket_routes:
                outcome = self._maybe_websocket(conn, request)
                if outcome is not None:
                    return outcome
            response = self.find_and_run_handler(request)
        except HttpError as e:
            self.count("web-status-%d" % e.status)
            response = Response(e.message + "\n", e.status, msg_type=TEXT_PLAIN)
            keep_alive = False
        keep_alive = keep_alive and not self._stopping  # the handler may have stopped us
        try:
            try:
                keep_alive = self._writer.write(
                    conn, response, preq.version, keep_alive, method == "HEAD", park=True
                )
            except ValueError as e:
                # Nothing was sent: a header changed after the Response was
                # made holds a control character, or a str body cannot be
                # encoded. The client gets a bare 500, the log says why.
                close_iter(response.stream)
                self._log_general("response for %s refused: %s" % (preq.target[:200], e))
                self.count("web-response-refused")
                keep_alive = self._writer.write(
                    conn, Response(None, -1), preq.version, False, False, park=True
                )
        except Closed:
            self._engine.close(conn)  # type: ignore[union-attr]
            return "detached"
        return "keep" if keep_alive else "close"

    # ------------------------------------------------------------ websockets

    def _refuse(self, conn: "Conn", request: Request, response: Response) -> str:
        try:
            self._writer.write(conn, response, request.http_version, False, False)
        except Closed:
            self._engine.close(conn)  # type: ignore[union-attr]
            return "detached"
        return "close"

    def _maybe_websocket(self, conn: "Conn", request: Request) -> "Optional[str]":
        from kcore.webserver_base import _groups, response_head

        for rx, handler, subprotocols, accept in self.websocket_routes:
            m = rx.match(request.path)
            if m is None:
                continue
            request.route_match_groups = _groups(m)
            request.context = self.context
            from kcore.webserver import websocket as W

            upgrade = (request.headers.get("upgrade") or "").lower()
            if upgrade != "websocket" or request.method != "GET":
                return self._refuse(
                    conn,
                    request,
                    Response(
                        "this URL speaks WebSocket only\n",
                        426,
                        extra_headers={"Upgrade": "websocket", "Sec-WebSocket-Version": "13"},
                        msg_type=TEXT_PLAIN,
                    ),
                )
            with self._ws_lock:
                full = len(self._websockets) >= self.max_websockets or self._stopping
            if full:
                return self._refuse(
                    conn,
                    request,
                    Response("too many WebSocket sessions\n", 503, msg_type=TEXT_PLAIN),
                )
            try:
                accept_headers = W.handshake_headers(request.headers, subprotocols)
            except HttpError as e:
                extra = {"Sec-WebSocket-Version": "13"} if e.status == 426 else None
                return self._refuse(
                    conn,
                    request,
                    Response(e.message + "\n", e.status, extra_headers=extra, msg_type=TEXT_PLAIN),
                )
            refusal = self._ws_refusal(request, accept)
            if refusal is not None:
                self.count("web-websocket-refused")
                return self._refuse(conn, request, refusal)
            self._writer.sendall(
                conn, response_head(101, None, None, accept_headers, keep_alive=True)
            )
            self.count("web-websocket-sessions")
            counted = self._engine.detach(conn)  # type: ignore[union-attr]
            ws = W.WebSocket(
                conn.sock,
                request,
                initial=bytes(conn.reader.buf),
                write_timeout=self.write_timeout,
                subprotocol=dict(accept_headers).get("Sec-WebSocket-Protocol"),
                ping_interval=self.ws_ping_interval,
                ping_timeout=self.ws_ping_timeout,
                idle_timeout=self.ws_idle_timeout,
            )
            t = threading.Thread(
                target=self._run_websocket,
                args=(ws, handler, counted),
                name="kweb-ws-%d" % conn.fd,
                daemon=True,
            )
            with self._ws_lock:
                self._websockets[id(ws)] = ws
            t.start()
            return "detached"
        return None

    def _ws_refusal(
        self, request: Request, accept: "Optional[Callable[[Request], Any]]"
    ) -> "Optional[Response]":
        # None to upgrade, else the response refusing it (before any 101).
        if self.websocket_same_origin or self.websocket_allowed_origins:
            from kcore.webserver.websocket import origin_allowed

            if not origin_allowed(
                request, self.websocket_allowed_origins, self.websocket_same_origin
            ):
                return Response("WebSocket from this origin refused\n", 403, msg_type=TEXT_PLAIN)
        if accept is None:
            return None
        try:
            verdict = accept(request)
        except Exception as e:
            self._log_exception(request, e)
            return Response("internal server error\n", 500, msg_type=TEXT_PLAIN)
        if isinstance(verdict, Response):
            return verdict
        if verdict is True:
            return None
        return Response("forbidden\n", 403, msg_type=TEXT_PLAIN)

    def _run_websocket(
        self, ws: "Any", handler: "Callable[..., Any]", counted: "Optional[str]" = None
    ) -> None:
        try:
            handler(ws)
        except Exception as e:
            self._log_exception(ws.request, e)
            ws.close(1011, "internal error")
        finally:
            ws.close(1000)
            if ws.close_reason in ("idle timeout", "ping timeout"):
                self.count("web-websocket-timeouts")
            with self._ws_lock:
                self._websockets.pop(id(ws), None)
            engine = self._engine
            if counted is not None and engine is not None:
                engine.release_address(counted)


def _fd_budget() -> int:
    # Connections we can hold without hitting EMFILE (which would make the
    # listener spin): the soft file limit minus room for files and threads.
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, ValueError, OSError):
        return 1 << 30
    if soft == resource.RLIM_INFINITY:
        return 1 << 30
    return max(16, soft - 64)


def _tls_context(
    cert: str,
    key: "Optional[str]",
    password: "Optional[str]",
    client_ca: "Optional[str]",
    client_required: bool,
) -> "Any":
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key, password)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED if client_required else ssl.CERT_OPTIONAL
    return ctx
