"""Run by test_webserver_circpy.py under the real micropython binary (not a test module).

usage: micropython micro_server.py PORT MAX_REQUESTS
Serves with kcore.webserver_circpy on 127.0.0.1:PORT using MicroPython's own
`socket` module as the socket pool; prints READY when listening and BYE at the end.
"""

import socket
import sys

from kcore import varz
from kcore.webserver_base import Response
from kcore.webserver_circpy import WebServer

port = int(sys.argv[1])
max_requests = int(sys.argv[2])


def hello(request):
    return "hello %s from %s" % (request.get_params.get("name", "world"), sys.implementation.name)


def echo_form(request):
    keys = sorted(request.post_params)
    return "form " + ",".join(["%s=%s" % (k, request.post_params[k]) for k in keys])


def unicode_page(request):
    return Response("grüße ☃", msg_type="text/plain; charset=utf-8")


def boom(request):
    raise ValueError("secret internals")


def peer(request):
    return str(request.remote_address)


def group(request):
    return "group=" + request.route_match_groups[0]


done = [False]


def stop(request):
    done[0] = True
    return "stopping"


varz.set("board-mode", "<script>x</script>")
server = WebServer(
    {
        "/hello": hello,
        "/form": echo_form,
        "/unicode": unicode_page,
        "/boom": boom,
        "/peer": peer,
        "/item/(.*)": group,
        "/stop": stop,
    },
    port=port,
    pool=socket,
    blocking=True,
    timeout=2,
    flagz_args={"mode": "test"},
)
print("READY")
codes = []
for _ in range(max_requests):
    codes.append(server.listen())
    if done[0]:
        break
server.close()
print("BYE", codes)
