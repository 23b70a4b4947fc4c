"""kcore.webserver_base: requests, responses, routing and the introspection pages.

No networking here: :mod:`kcore.webserver` (CPython) and
:mod:`kcore.webserver_circpy` (CircuitPython/MicroPython sockets) feed
:class:`Request` objects to :meth:`WebServerBase.find_and_run_handler` and
write the :class:`Response` it returns. Runs unchanged on CPython,
MicroPython and CircuitPython (no dataclasses, no typing at import, regexes
without named groups).

Handler resolution, in order: user routes (first full match wins; its regex
groups go to ``request.route_match_groups`` of *that* request), a standard
handler for exactly that path, the default handler (route ``None``), 404.

Standard pages: ``/healthz``, ``/varz``, ``/logz``, ``/flagz``,
``/favicon.ico``, and ``/metrics`` when :mod:`kcore.varz_prom` can be
imported. ``/varz``, ``/logz``, ``/flagz`` and ``/metrics`` are
*introspection* pages: pass ``introspection_auth`` (a plain callable taking
the request, see :class:`WebServerBase`) to guard them; kcore-auth provides
one. Every value on these pages is HTML-escaped.

Where things live (every public name is importable from here):

* ``_wire``: HTTP on the wire, shared by both servers: request-head
  parsing, body framing, path checks, and :func:`response_head`, the one
  writer of status lines and response headers;
* ``_forms``: query strings, url-encoded and multipart forms;
* ``_messages``: :class:`Request` and :class:`Response`;
* ``_routing``: :class:`WebServerBase` (routes, dispatch, counters, logging);
* ``_pages``: the standard and introspection pages, ``/metrics`` included.
"""

__version__ = "0.1.0"

from kcore.common import platform as _platform
from kcore.webserver_base._forms import (  # noqa: F401
    UploadedFile,
    header_param,
    parse_form,
    parse_get_params,
    parse_query,
)
from kcore.webserver_base._messages import (  # noqa: F401
    BaseHTTPRequestHandler_to_Request,
    Request,
    Response,
    error_response,
    request_from_wire,
)
from kcore.webserver_base._pages import (  # noqa: F401
    INTROSPECTION_PATHS,
    REDACTED,
    SECRET_WORDS,
    mask_credentials,
    metrics_response,
    sys_facts,
    varz_handler,
    varz_page,
    ws_varz_handler,
)
from kcore.webserver_base._routing import (  # noqa: F401
    LoggingAdapter,
    WebServerBase,
    _groups,
    _normalize,
    default_logging_adapter,
)
from kcore.webserver_base._wire import (  # noqa: F401
    FORM_METHODS,
    KNOWN_METHODS,
    SERVED_METHODS,
    SERVER_NAME,
    STATUS_TEXT,
    TEXT_HTML,
    TEXT_PLAIN,
    Headers,
    HttpError,
    body_framing,
    check_host,
    check_path,
    error_bytes,
    has_control,
    header_lines,
    is_field_value,
    is_token,
    ows_strip,
    parse_request_head,
    percent_decode,
    response_head,
    status_line,
    wire_content_type,
)

CIRCUITPYTHON = _platform.CIRCUITPYTHON
