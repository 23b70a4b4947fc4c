"""kcore.time_queue_persisted: a time queue whose events survive a restart.

Events are :class:`EventDC` dataclasses that name the function to call instead
of holding it, so they can be written to a file: a
:class:`kcore.persister.PersisterListOfDC` (``repr()`` lines by default, read
back without ``eval``), e.g.::

    EventDC(fire_dt=datetime.datetime(2030, 1, 2, 3, 4, 5), func_name='water', args=[7],
            kwargs={}, repeat_after_ms=86400000)

The function is looked up by name on the ``context`` given to
:class:`TimeQueuePersisted` (a module, an object, or a dict of functions) and
nowhere else: no dotted paths, no builtins, no names starting with ``_``::

    import my_jobs
    tq = TimeQueuePersisted("jobs.data", my_jobs)
    tq.add_event(EventDC(datetime.datetime(2030, 1, 2, 6, 0), "water", [7]))
    while True:
        tq.check()   # fires due events, saves the queue
        time.sleep(1)

``fire_dt`` is a wall-clock time (naive: local time). A repeating event moves
its ``fire_dt`` forward every time it fires, so the file always holds the next
time and a reload never fires it again at a time already past. Every
:meth:`~TimeQueuePersisted.add_event` and :meth:`~TimeQueuePersisted.check`
reloads the file and saves it under the persister's file lock, so several
processes can share one queue file (a callback that adds an event should add
it through the queue that fired it: another queue object on the same file
would wait for the lock held by this one).
"""

from __future__ import annotations

__version__ = "0.1.0"

import contextlib
import datetime
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional

from kcore.persister import PersisterListOfDC
from kcore.timequeue import WALL, Event, TimeQueue

__all__ = ["EventDC", "TimeQueuePersisted", "lookup_function"]


def lookup_function(context: Any, func_name: str) -> Callable[..., Any]:
    """``func_name`` on ``context`` (a key of a mapping, else an attribute), only.

    Refuses names that are not plain public identifiers (dots, a leading
    ``_``), missing names and values that are not callable, naming the function.
    """
    if not isinstance(func_name, str) or not func_name.isidentifier():
        raise ValueError("function name %r is not a plain identifier" % (func_name,))
    if func_name.startswith("_"):
        raise ValueError("function name %r: names starting with '_' are not looked up" % func_name)
    if context is None:
        raise LookupError(
            "event %s has no context to look it up in: add the event to a TimeQueuePersisted"
            % func_name
        )
    if isinstance(context, Mapping):
        func = context.get(func_name)
    else:
        func = getattr(context, func_name, None)
    if func is None:
        raise LookupError("no function %r in the context %s" % (func_name, _describe(context)))
    if not callable(func):
        raise TypeError(
            "%r in the context is a %s, not a function" % (func_name, type(func).__name__)
        )
    return func


def _describe(context: Any) -> str:
    name = getattr(context, "__name__", None)
    return repr(name) if isinstance(name, str) else "(a %s)" % type(context).__name__


def _epoch_ms(dt: datetime.datetime) -> int:
    return int(dt.timestamp() * 1000)


@dataclass
class EventDC(Event):
    """An event that calls ``<context>.<func_name>(*args, **kwargs)`` at ``fire_dt``
    (wall clock), then every ``repeat_after_ms`` if given.

    ``_force_now_dt`` is accepted for the original's signature: the firing time
    is absolute, so "now" does not enter into it.
    """

    fire_dt: datetime.datetime
    func_name: str
    args: List[Any] = field(default_factory=list)  # type: ignore[assignment]  # a list here
    kwargs: Dict[str, Any] = field(default_factory=dict)
    repeat_after_ms: Optional[int] = None

    clock_kind = WALL

    def __init__(
        self,
        fire_dt: datetime.datetime,
        func_name: str,
        args: Optional[List[Any]] = None,
        kwargs: Optional[Dict[str, Any]] = None,
        repeat_after_ms: Optional[int] = None,
        _force_now_dt: Optional[datetime.datetime] = None,
    ) -> None:
        if not isinstance(fire_dt, datetime.datetime):
            raise TypeError("fire_dt must be a datetime.datetime, not %s" % type(fire_dt).__name__)
        if not isinstance(func_name, str) or not func_name.isidentifier():
            raise ValueError("func_name must be a function name, not %r" % (func_name,))
        self._setup(self._call_by_name, args, kwargs, repeat_after_ms)
        self.args = list(self.args)
        self.fire_dt = fire_dt
        self.func_name = func_name
        self.context: Any = None  # set by the TimeQueuePersisted holding the event

    @property  # type: ignore[override]
    def fire_at_ms(self) -> int:
        """Epoch ms of ``fire_dt`` (the wall clock is this event's time base)."""
        return _epoch_ms(self.fire_dt)

    @fire_at_ms.setter
    def fire_at_ms(self, value: int) -> None:
        # The queue re-arms a repeating event by setting this: fire_dt follows,
        # so the saved file holds the next firing time.
        tz = self.fire_dt.tzinfo
        self.fire_dt = datetime.datetime.fromtimestamp(value / 1000.0, tz)

    def _call_by_name(self, *args: Any, **kwargs: Any) -> Any:
        return lookup_function(self.context, self.func_name)(*args, **kwargs)

    def fire(self) -> Any:
        return self._call_by_name(*self.args, **self.kwargs)

    def __str__(self) -> str:
        return self.__repr__()


class TimeQueuePersisted(TimeQueue):
    """A :class:`kcore.timequeue.TimeQueue` of :class:`EventDC` kept in ``filename``.

    ``context`` is where event functions are looked up (see
    :func:`lookup_function`). Other keyword arguments go to TimeQueue (clocks,
    ``max_len``, ``logger``...) except ``password`` and ``file_format``, which
    go to the persister.
    """

    def __init__(
        self,
        filename: Optional[str],
        context: Any,
        *,
        password: Optional[str] = None,
        file_format: str = "repr",
        **queue_kwargs: Any,
    ) -> None:
        super().__init__(**queue_kwargs)
        self.context = context
        self.persister = PersisterListOfDC(
            filename, EventDC, password=password, file_format=file_format
        )
        self._local = threading.local()
        with self.persister.get_rw_locked_file() as events:
            self._adopt(events)

    def _adopt(self, events: List[EventDC]) -> None:
        """Make the queue hold exactly the events of the file."""
        super().clear()
        for event in events:
            event.context = self.context
            super().add_event(event)

    @contextlib.contextmanager
    def _synced(self) -> Iterator[None]:
        """Under the file lock: load the file into the queue, run the block, save
        the queue (not if the block raises)."""
        with self.persister.get_rw_locked_file() as events:
            self._adopt(events)
            yield
            events[:] = super().queue

    def add_event(self, event: Event) -> Event:
        """Queue an EventDC and save the queue (reloading the file first)."""
        if not isinstance(event, EventDC):
            raise TypeError(
                "TimeQueuePersisted stores EventDC events only (a function name, not a "
                "function), got %s" % type(event).__name__
            )
        event.context = self.context
        if getattr(self._local, "in_check", False):  # from a callback: check() saves
            return super().add_event(event)
        with self._synced():
            super().add_event(event)
        return event

    def add_dt(
        self,
        dt: datetime.datetime,
        func_name: str,
        args: Optional[List[Any]] = None,
        kwargs: Optional[Dict[str, Any]] = None,
        repeat_after_ms: Optional[int] = None,
    ) -> Event:
        """Queue ``func_name(*args, **kwargs)`` at ``dt`` (wall clock)."""
        return self.add_event(EventDC(dt, func_name, args, kwargs, repeat_after_ms))

    def check(
        self, use_ms_time: int | float | None = None, use_wall_ms: int | float | None = None
    ) -> int:
        """Reload, fire every due event once, save; returns how many ran.
        EventDC times are on the wall clock: ``use_wall_ms`` forces "now" for them."""
        with self._synced():
            self._local.in_check = True
            try:
                fired = super().check(use_ms_time, use_wall_ms)
            finally:
                self._local.in_check = False
        return fired

    def get_queue_ro(self) -> List[EventDC]:
        """The events in the file (reloaded if it changed), soonest first; a copy."""
        return list(self.persister.get_data())

    @property
    def queue(self) -> list:  # type: ignore[override]
        """The queued events as the file holds them, soonest first (a copy)."""
        return self.get_queue_ro()
