"""WebServerBase: routes, dispatch, counters and logging, without networking."""

import sys

from kcore.common import platform as _platform
from kcore.varz import store_of
from kcore.webserver_base import _pages
from kcore.webserver_base._messages import Request, Response, error_response
from kcore.webserver_base._wire import KNOWN_METHODS

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from typing import Any, Callable, Optional

    Handler = Callable[[Request], Any]


# ---------------------------------------------------------------- logging adapter


class LoggingAdapter:
    """Where the server's log lines go; any callable may be None (skipped).

    ``log_request(msg)``, ``log_404(msg)``, ``log_general(msg)``,
    ``log_exceptions(msg)`` take one string; ``get_logz_html()`` returns
    the (already escaped) HTML fragment /logz shows.
    """

    def __init__(
        self,
        log_request: "Optional[Callable[[str], Any]]" = None,
        log_404: "Optional[Callable[[str], Any]]" = None,
        log_general: "Optional[Callable[[str], Any]]" = None,
        log_exceptions: "Optional[Callable[[str], Any]]" = None,
        get_logz_html: "Optional[Callable[[], str]]" = None,
    ) -> None:
        self.log_request = log_request
        self.log_404 = log_404
        self.log_general = log_general
        self.log_exceptions = log_exceptions
        self.get_logz_html = get_logz_html


def default_logging_adapter() -> LoggingAdapter:
    """kcore.common's logger: info for requests and 404s, error for
    handler exceptions, its in-memory queue for /logz."""
    import kcore.common as C

    return LoggingAdapter(C.log_info, C.log_info, C.log_info, C.log_error, C.last_logs_html)


def _traceback_text(e: BaseException) -> str:
    try:
        import traceback

        return "".join(traceback.format_exception(type(e), e, e.__traceback__))
    except (ImportError, AttributeError):
        import io

        buf = io.StringIO()
        sys.print_exception(e, buf)  # type: ignore[attr-defined]
        return buf.getvalue()


# ---------------------------------------------------------------- routes


class _Route:
    def __init__(self, regex: str, compiled: "Any", func: "Handler") -> None:
        self.regex = regex
        self.compiled = compiled
        self.func = func

    def __repr__(self) -> str:
        return "Route(%r)" % self.regex


def _groups(match: "Any") -> tuple:
    try:
        return match.groups()  # type: ignore[no-any-return]  # a tuple
    except AttributeError:  # MicroPython: no groups()
        out = []
        i = 1
        while True:
            try:
                out.append(match.group(i))
            except IndexError:
                return tuple(out)
            i += 1


def _normalize(route_regex: str) -> str:
    r = route_regex
    if r[:1] == "^":
        r = r[1:]
    if r[-1:] == "$" and r[-2:-1] != "\\":
        r = r[:-1]
    if r[:1] != "/":
        r = "/" + r
    return "^" + r + "$"


def _as_response(value: object) -> Response:
    """A handler's result as a Response: a Response as is; an object with a
    Response's ``body``, ``status_code`` and ``msg_type`` (kcore.varz_prom's
    page, made without importing this package) copied into one; None as
    ``''``; anything else as its text."""
    if isinstance(value, Response):
        return value
    if value.__class__ is str:
        return Response.text(value)  # type: ignore[arg-type]
    if value is None:
        return Response("")
    if hasattr(value, "status_code") and hasattr(value, "msg_type") and hasattr(value, "body"):
        v = value  # type: Any
        return Response(
            v.body,
            v.status_code,
            getattr(v, "extra_headers", None),
            v.msg_type,
            getattr(v, "exception", None),
        )
    return Response(value)


class WebServerBase:
    """Routing, standard pages, counters and logging, without networking.

    ``handlers``: dict or list of ``(route_regex, func)`` (``None``/``''``
    route = default handler). ``context``: dict every request gets as
    ``request.context``. ``flagz_args``: dict or argparse Namespace shown at
    /flagz. ``logging_filters``: substrings of paths not logged.
    ``varz``: where the ``web-*`` counters go and what /varz and /metrics
    show: True (the global :mod:`kcore.varz` store), a
    :class:`kcore.varz.Store` of this server's own, or False (no counting).
    ``varz_path_trim``: chars of the path used in ``web-path-*`` counters;
    at most ``max_path_counters`` such counters exist, later paths count as
    ``web-path-(other)``.

    ``access_log_rate``: at most this many request lines (``log_request``,
    ``log_404``) a second; the rest are counted and reported once a second
    (None: log every request).

    ``introspection_auth``: None (pages open; the CPython server binds
    127.0.0.1 by default) or a callable ``auth(request)`` guarding
    INTROSPECTION_PATHS: return True to allow, False for a 403, or a
    :class:`Response` (e.g. 401 with ``WWW-Authenticate``) to send instead.
    """

    def __init__(
        self,
        handlers: "Any" = None,
        port: "Optional[int]" = None,
        context: "Optional[dict]" = None,
        wrap_handlers: bool = True,
        use_standard_handlers: bool = True,
        varz: "Any" = True,
        varz_path_trim: int = 14,
        logging_adapter: "Optional[LoggingAdapter]" = None,
        logging_filters: "Any" = ("favicon.ico",),
        flagz_args: "Any" = None,
        introspection_auth: "Optional[Callable[[Request], Any]]" = None,
        max_path_counters: int = 100,
        access_log_rate: "Optional[int]" = 100,
    ) -> None:
        self.port = port
        self.context = {} if context is None else context
        self.wrap_handlers = wrap_handlers
        self.varz = varz
        self.varz_store = store_of(varz)
        self.varz_path_trim = varz_path_trim
        self.logger = logging_adapter
        self.logging_filters = list(logging_filters or [])
        self.flagz_args = flagz_args
        self.introspection_auth = introspection_auth
        self.max_path_counters = max_path_counters
        self.access_log_rate = access_log_rate
        self._log_window = -1  # the second the access-log budget counts in
        self._log_lines = 0  # request lines logged in it
        self._log_skipped = 0  # request lines over the budget in it
        self._clock_ms = _platform.monotonic_ms
        self._path_keys = {}  # type: dict
        self._count_names = {}  # type: dict
        self.routes = []  # type: list
        self.default_handler = None  # type: Optional[Handler]
        self.standard_handlers = {}  # type: dict
        if use_standard_handlers:
            self.standard_handlers = {
                "/healthz": self._healthz_handler,
                "/favicon.ico": self._favicon_handler,
                "/flagz": self._flagz_handler,
                "/logz": self._logz_handler,
                "/varz": self._varz_handler,
            }
            if _pages.prometheus_available():
                self.standard_handlers["/metrics"] = _pages.metrics_response
        if handlers:
            self.add_handlers(handlers)
        if self.varz_store is not None:
            self.varz_store.stamp("web-server-start")

    # ------------------------------------------------------------ routes

    def add_handlers(self, handlers: "Any") -> None:
        """Add routes from a dict or a list of (route_regex, func) pairs."""
        items = handlers.items() if hasattr(handlers, "items") else handlers
        for route_regex, func in items:
            self.add_handler(route_regex, func)

    def add_handler(
        self, route_regex: "Optional[str]", func: "Handler", fixup_regex: bool = True
    ) -> None:
        """Add one route (appended: earlier routes win). ``None`` or ``''``
        sets the default handler."""
        if not route_regex:
            self.default_handler = func
            return
        import re

        regex = _normalize(route_regex) if fixup_regex else route_regex
        self.routes.append(_Route(regex, re.compile(regex), func))

    def del_handler(self, route_regex: "Optional[str]") -> bool:
        """Remove the first route with the same (normalised) regex; True if found."""
        if not route_regex:
            found = self.default_handler is not None
            self.default_handler = None
            return found
        regex = _normalize(route_regex)
        for i in range(len(self.routes)):
            if self.routes[i].regex == regex or self.routes[i].regex == route_regex:
                del self.routes[i]
                return True
        return False

    def _match(self, path: str) -> "tuple[Optional[_Route], tuple]":
        for route in self.routes:
            m = route.compiled.match(path)
            if m is not None:
                return route, _groups(m)
        return None, ()

    def _find_handler(self, path: str) -> "Optional[_Route]":
        """The route record for ``path`` or None (user routes only)."""
        return self._match(path)[0]

    def _resolve(self, path: str) -> "tuple[Optional[Handler], tuple, bool]":
        for route in self.routes:
            m = route.compiled.match(path)
            if m is not None:
                return route.func, _groups(m), False
        std = self.standard_handlers.get(path)
        if std is not None:
            return std, (), path in _pages.INTROSPECTION_PATHS
        return self.default_handler, (), False

    # ------------------------------------------------------------ dispatch

    def find_and_run_handler(self, request: Request) -> Response:
        """Resolve, authorise, run and count one request; always a Response."""
        path = request.path
        func, groups, guarded = self._resolve(path)
        request.route_match_groups = groups
        request.context = self.context
        if request.server is None:
            request.server = self
        logger = self.logger
        if logger is not None and logger.log_request is not None:
            if not self._filtered(request.full_path) and self._log_budget(logger):
                logger.log_request(
                    "%s from %s: %s" % (request.method, request.remote_address, request.full_path)
                )
        if func is None:
            if logger is not None and logger.log_404 is not None and self._log_budget(logger):
                logger.log_404("404 for %s" % request.full_path)
            response = Response("page not found", 404)
        elif guarded and self.introspection_auth is not None:
            denied = self._authorise(request)
            response = self._call(func, request) if denied is None else denied
        else:
            response = self._call(func, request)
        if self.varz_store is not None:
            self._count(request, response)
        return response

    def _log_budget(self, logger: LoggingAdapter) -> bool:
        """True if one more per-request line may be logged this second.

        At most ``access_log_rate`` such lines a second (None: no limit);
        the rest are counted and reported in one line when the next second
        begins, so a flood of requests cannot fill the disk or push every
        other line out of /logz. (Counted without a lock: under concurrent
        requests the reported number is approximate.)"""
        rate = self.access_log_rate
        if rate is None:
            return True
        second = self._clock_ms() // 1000
        if second != self._log_window:
            # A new second: a new budget, and a word on what was left out.
            skipped = self._log_skipped
            self._log_window, self._log_lines, self._log_skipped = second, 0, 0
            if skipped and logger.log_general is not None:
                logger.log_general(
                    "access log: %d more request lines in a second were not logged"
                    " (access_log_rate=%d)" % (skipped, rate)
                )
        if self._log_lines >= rate:
            self._log_skipped += 1
            return False
        self._log_lines += 1
        return True

    def _filtered(self, full_path: str) -> bool:
        for f in self.logging_filters:
            if f in full_path:
                return True
        return False

    def _authorise(self, request: Request) -> "Optional[Response]":
        try:
            verdict = self.introspection_auth(request)  # type: ignore[misc]
        except Exception as e:
            self._log_exception(request, e)
            return error_response(500, "internal server error")
        if isinstance(verdict, Response):
            return verdict
        if verdict:
            return None
        return error_response(403, "forbidden")

    def _call(self, func: "Handler", request: Request) -> Response:
        if not self.wrap_handlers:
            return _as_response(func(request))
        try:
            result = func(request)
            if result.__class__ is str:  # the usual case, without a call more
                return Response.text(result)
            return _as_response(result)
        except Exception as e:
            self._log_exception(request, e)
            return Response(None, -1, exception=e)  # sent as a bare 500

    def _log_exception(self, request: "Any", e: BaseException) -> None:
        if self.varz_store is not None:
            self.varz_store.bump("web-handler-exception")
        logger = self.logger
        if logger is not None and logger.log_exceptions is not None:
            logger.log_exceptions(
                "handler exception. path=%s, error=%s, details: %s"
                % (request.path, repr(e), _traceback_text(e))
            )

    def _count(self, request: Request, response: Response) -> None:
        # The three counter names of a (method, path, status) are remembered
        # (a bounded cache): naming them costs more than counting.
        seen = (request.method, request.path, response.status_code)
        names = self._count_names.get(seen)
        if names is None:
            method = request.method if request.method in KNOWN_METHODS else "other"
            key = "web-path-" + request.path[1 : 1 + self.varz_path_trim]
            if key not in self._path_keys:
                if len(self._path_keys) >= self.max_path_counters:
                    key = "web-path-(other)"
                else:
                    self._path_keys[key] = True
            names = ("web-method-" + method, key, "web-status-%d" % response.status_code)
            if len(self._count_names) < 1024:
                self._count_names[seen] = names
        self.varz_store.bump_many(names)  # type: ignore[union-attr]

    def count(self, name: str) -> None:
        """Bump counter ``name`` in this server's varz store (if it counts)."""
        if self.varz_store is not None:
            self.varz_store.bump(name)

    def test_handler(self, path: str, method: str = "test") -> Response:
        """Run the handler for ``path`` without any network (tests, tools)."""
        return self.find_and_run_handler(Request(method, path, server=self))

    # ------------------------------------------------------------ standard pages

    def healthz_text(self) -> str:
        """What this server's /healthz (possibly a user route) says."""
        func, groups, _g = self._resolve("/healthz")
        if func is None:
            return "no /healthz handler"
        request = Request("GET", "/healthz", server=self, route_match_groups=groups)
        request.context = self.context
        try:
            r = _as_response(func(request))
        except Exception as e:
            return "healthz handler failed: %s" % type(e).__name__
        return r.body if isinstance(r.body, str) else r.body.decode("utf-8", "replace")

    def _healthz_handler(self, request: Request) -> Response:
        return _pages.healthz_page(request)

    def _favicon_handler(self, request: Request) -> Response:
        return _pages.favicon_page(request)

    def _flagz_handler(self, request: Request) -> Response:
        return _pages.flagz_page(self.flagz_args)

    def _logz_handler(self, request: Request) -> Response:
        return _pages.logz_page(self.logger)

    def _varz_handler(self, request: Request) -> Response:
        return _pages.varz_handler(request)
