"""The hook kcore-web calls to authenticate requests (e.g. introspection pages).

Contract (duck-typed, so kcore.auth does not import kcore-web): kcore-web's
``WebServerBase(introspection_auth=hook)`` calls ``hook(request)`` and serves
the page if the result is truthy, else answers 403. The hook returns a
:class:`VerificationResults`, which is truthy exactly when ``.ok``; its
``.status`` is for the server's log (it holds no secret). A DB that cannot be
used raises, which kcore-web turns into a 500.

The request needs ``headers`` (a mapping; looked up case-insensitively),
``path`` (the command the token must have been made for) and
``remote_address`` (``"ip"`` or ``(ip, port)``). The token travels in
``Authorization: kcore-auth <token>`` or ``X-Kcore-Auth: <token>``; a query
parameter is accepted only if ``param`` is given (URLs end up in logs).
"""

from __future__ import annotations

from typing import Any, Optional

from kcore.auth.api import DEFAULT_DB_FILENAME, verify_token
from kcore.auth.tokens import DEFAULT_MAX_TIME_DELTA, VerificationResults, check_max_time_delta

AUTH_SCHEME = "kcore-auth"
HEADER = "X-Kcore-Auth"


def _header(headers: Any, name: str) -> Optional[str]:
    if not headers:
        return None
    getter = getattr(headers, "get", None)
    if getter is not None:
        value = getter(name)
        if value is not None:
            return str(value)
    lname = name.lower()
    try:
        items = headers.items()
    except AttributeError:
        return None
    for k, v in items:
        if str(k).lower() == lname:
            return str(v)
    return None


class WebAuthHook:
    """``hook(request) -> VerificationResults``; see the module docstring."""

    def __init__(
        self,
        db_passwd: str,
        db_filename: Optional[str] = DEFAULT_DB_FILENAME,
        max_time_delta: Optional[float] = DEFAULT_MAX_TIME_DELTA,
        must_be_later_than_last_check: bool = True,
        check_client_address: bool = True,
        param: Optional[str] = None,
        legacy: bool = False,
    ) -> None:
        check_max_time_delta(max_time_delta)  # a bad window fails here, not per request
        self.db_passwd = db_passwd
        self.db_filename = db_filename
        self.max_time_delta = max_time_delta
        self.must_be_later_than_last_check = must_be_later_than_last_check
        self.check_client_address = check_client_address
        self.param = param
        self.legacy = legacy

    def token_from_request(self, request: Any) -> Optional[str]:
        headers = getattr(request, "headers", None)
        auth = _header(headers, "Authorization")
        if auth:
            scheme, _, rest = auth.strip().partition(" ")
            if scheme.lower() == AUTH_SCHEME and rest.strip():
                return rest.strip()
        token = _header(headers, HEADER)
        if token:
            return token.strip()
        if self.param:
            params = getattr(request, "get_params", None) or {}
            value = params.get(self.param) if hasattr(params, "get") else None
            if isinstance(value, list):
                value = value[0] if value else None
            if value:
                return str(value)
        return None

    def __call__(self, request: Any) -> VerificationResults:
        token = self.token_from_request(request)
        if not token:
            return VerificationResults(False, "no authN token provided")
        command = getattr(request, "path", None) or "/"
        addr = getattr(request, "remote_address", None) if self.check_client_address else None
        if isinstance(addr, (tuple, list)):
            addr = addr[0] if addr else None
        return verify_token(
            token,
            str(command),
            str(addr) if addr else None,
            self.db_passwd,
            self.must_be_later_than_last_check,
            self.max_time_delta,
            self.db_filename,
            legacy=self.legacy,
        )


def web_auth_hook(db_passwd: str, **kwargs: Any) -> WebAuthHook:
    """Build the hook kcore-web plugs in:
    ``WebServer(..., introspection_auth=web_auth_hook(pw))``."""
    return WebAuthHook(db_passwd, **kwargs)
