"""The exception tree of :mod:`kcore.common.web`; import the names from there.

Every transport raises only these. A message names the method/host and what
failed; of a URL, only its redacted form (no user info, no query) reaches it.
"""

from kcore.common.platform import KcoreError, error_class

# Tracebacks name the module the classes are imported from.
_HOME = "kcore.common.web"

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover - static view of the classes built below
    from typing import Any

    from kcore.common._weburl import URL

    class WebError(KcoreError, OSError):
        url: str
        host: str

    class WebTimeout(WebError, TimeoutError):
        pass

    class WebConnectionError(WebError, ConnectionError):
        pass

    class WebSSLError(WebConnectionError):
        pass

    class InvalidURL(WebError, ValueError):
        pass

    class InvalidHeader(WebError, ValueError):
        pass


else:
    # Names, not classes: MicroPython has no TimeoutError or ConnectionError.
    # There a class has one exception base, and the leaves keep WebError.
    WebError = error_class(
        "WebError",
        "OSError",
        doc="Root of every web client error (also an OSError, as requests' is).",
        module=_HOME,
    )

    def _leaf(name: str, builtin: "str | None", base: "type[Exception]", doc: str) -> "Any":
        return error_class(name, builtin, base, doc, _HOME, keep_base=True)

    WebTimeout = _leaf(
        "WebTimeout", "TimeoutError", WebError, "The server did not answer in time."
    )
    WebConnectionError = _leaf(
        "WebConnectionError", "ConnectionError", WebError, "No connection to the server."
    )
    WebSSLError = _leaf(
        "WebSSLError", None, WebConnectionError, "TLS handshake/verification failed."
    )
    InvalidURL = _leaf("InvalidURL", "ValueError", WebError, "The URL cannot be requested.")
    InvalidHeader = _leaf("InvalidHeader", "ValueError", WebError, "A header name/value is bad.")


def _error(cls: "type[Any]", what: str, url: "URL | None" = None) -> "Any":
    """Build ``cls`` with a message naming the method/host and what failed.

    ``url`` is a :class:`URL` (or None); only its redacted form (no user
    info, no query) ever reaches the message.
    """
    if url is not None:
        err = cls("%s: %s" % (url.redacted(), what))
        err.url = url.redacted()
        err.host = url.host
    else:
        err = cls(what)
        err.url = ""
        err.host = ""
    return err


def _too_big(limit: int, url: "URL | None") -> "Any":
    return _error(WebError, "response body larger than max_body=%d bytes" % limit, url)
