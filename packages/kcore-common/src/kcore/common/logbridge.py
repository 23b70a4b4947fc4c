"""Connect kcore's logger and stdlib ``logging`` (CPython only).

* :func:`bridge_from_stdlib` installs a :class:`KcoreLogHandler`, so records
  of stdlib loggers (yours, or libraries' such as urllib3) also land in
  kcore's queue/file/stderr/syslog, routed by kcore's thresholds. The stdlib
  logger's own level still filters first (the root logger defaults to
  WARNING).
* :func:`bridge_to_stdlib` makes every message kcore keeps also go to a
  stdlib logger (default ``'kcore'``), so stdlib handlers/formatters see them.

Both can be on at once without loops: records that kcore sent to stdlib
carry ``record.kcore_bridged = True`` and the handler ignores them, and
messages that came from stdlib are tagged with origin ``'stdlib'``, which the
to-stdlib sink skips. Levels map one to one (kcore's are numerically
stdlib's); stdlib levels below DEBUG (NOTSET, custom) become DEBUG.
"""

import logging
from typing import Optional, Union

import kcore.common.logger as _klog

ORIGIN = "stdlib"
MARK = "kcore_bridged"

__all__ = ["KcoreLogHandler", "StdlibBridge", "bridge_from_stdlib", "bridge_to_stdlib"]


def _to_kcore_level(levelno: int) -> int:
    return levelno if levelno >= _klog.DEBUG else _klog.DEBUG


class KcoreLogHandler(logging.Handler):
    """A stdlib ``logging`` handler that forwards records into a kcore
    :class:`~kcore.common.logger.Logger` (default: the process default one).

    The text is ``self.format(record)``, by default ``"<logger name>:
    <message>"`` (plus any traceback); kcore adds its own title/time/level.
    """

    def __init__(
        self, level: int = logging.NOTSET, kcore_logger: Optional[_klog.Logger] = None
    ) -> None:
        super().__init__(level)
        self.kcore_logger = kcore_logger if kcore_logger is not None else _klog.default_logger()
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, MARK, False):
            return  # it came from kcore through bridge_to_stdlib: no loop
        try:
            text = self.format(record)
            self.kcore_logger.log_from(text, _to_kcore_level(record.levelno), ORIGIN)
        except RecursionError:  # pragma: no cover - as logging.StreamHandler does
            raise
        except Exception:
            self.handleError(record)


def bridge_from_stdlib(
    logger: Union[str, logging.Logger, None] = None,
    level: int = logging.NOTSET,
    kcore_logger: Optional[_klog.Logger] = None,
) -> KcoreLogHandler:
    """Forward the records of a stdlib logger (None = root; a name or a
    Logger) into kcore's log; returns the handler (remove it with
    ``logger.removeHandler(h)``). ``level`` is the handler's level. Calling
    it again for the same pair returns the handler already installed."""
    std = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
    target = kcore_logger if kcore_logger is not None else _klog.default_logger()
    for h in std.handlers:
        if isinstance(h, KcoreLogHandler) and h.kcore_logger is target:
            h.setLevel(level)
            return h
    handler = KcoreLogHandler(level, target)
    std.addHandler(handler)
    return handler


class StdlibBridge:
    """What :func:`bridge_to_stdlib` returns: ``.logger`` is the stdlib
    logger written to; :meth:`close` stops forwarding."""

    def __init__(
        self,
        kcore_logger: _klog.Logger,
        std_logger: logging.Logger,
        level: Union[int, str, None],
    ) -> None:
        self.kcore_logger = kcore_logger
        self.logger = std_logger
        self.level = level
        self._closed = False

    def __call__(self, level: int, text: str, line: str) -> None:
        self.logger.log(level, text, extra={MARK: True})

    def close(self) -> None:
        """Stop sending kcore's messages to the stdlib logger."""
        if not self._closed:
            self._closed = True
            self.kcore_logger.remove_sink(self)
            _BRIDGES.pop((id(self.kcore_logger), self.logger.name), None)

    def __enter__(self) -> "StdlibBridge":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_BRIDGES: "dict[tuple[int, str], StdlibBridge]" = {}


def bridge_to_stdlib(
    name: str = "kcore",
    kcore_logger: Optional[_klog.Logger] = None,
    level: Union[int, str, None] = None,
) -> StdlibBridge:
    """Also send every message kcore keeps to the stdlib logger ``name``
    (the message text only; stdlib formatters add time/level/name).

    ``level`` (optional) is a threshold of its own for this bridge, which
    may be lower than kcore's sinks' (then e.g. DEBUG messages reach stdlib
    while kcore's sinks still drop them). Calling it again for the same
    logger pair returns the existing bridge."""
    target = kcore_logger if kcore_logger is not None else _klog.default_logger()
    key = (id(target), name)
    bridge = _BRIDGES.get(key)
    if bridge is not None and bridge.kcore_logger is target:
        return bridge
    bridge = StdlibBridge(target, logging.getLogger(name), level)
    target.add_sink(bridge, level=level, skip_origin=ORIGIN)
    _BRIDGES[key] = bridge
    return bridge
