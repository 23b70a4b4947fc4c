"""kcore.webserver: the kcore web server for CPython.

Everything from :mod:`kcore.webserver_base` (Request, Response, routing,
introspection pages) on a real network engine: HTTP/1.1 keep-alive and
pipelining, TLS (with optional client certificates), forms, streaming
responses, static files, WebSockets, bounded resources and graceful
shutdown. A web server in a few lines::

    from kcore.webserver import WebServer

    def hello(request):
        return 'hello %s' % request.get_params.get('name', 'world')

    WebServer({'/hello': hello}).start(port=8080, background=False)

Binds 127.0.0.1 unless ``start(listen='0.0.0.0')`` says otherwise.
"""

__version__ = "0.1.0"

from kcore.webserver._server import Httpd, WebServer  # noqa: F401
from kcore.webserver_base import (  # noqa: F401
    INTROSPECTION_PATHS,
    BaseHTTPRequestHandler_to_Request,
    Headers,
    HttpError,
    LoggingAdapter,
    Request,
    Response,
    UploadedFile,
    WebServerBase,
    default_logging_adapter,
    parse_get_params,
    varz_handler,
    ws_varz_handler,
)


def __getattr__(name: str) -> object:
    # The WebSocket and static-file helpers load on first use (import cost).
    if name in ("WebSocket", "WebSocketClosed"):
        from kcore.webserver import websocket

        return getattr(websocket, name)
    if name == "static_handler":
        from kcore.webserver.static import static_handler

        return static_handler
    raise AttributeError("module 'kcore.webserver' has no attribute %r" % name)
