"""kcore.persister: an in-memory copy of a data structure kept in sync with a file.

The file stays human-readable and hand-editable; it is never ``eval``-ed::

    from dataclasses import dataclass
    from kcore.persister import PersisterDictOfDC

    @dataclass
    class Host:
        ip: str
        port: int = 22

    hosts = PersisterDictOfDC("hosts.data", Host)
    with hosts.get_rw_locked_file() as data:   # lock, reload, modify, save
        data["pi"] = Host("10.0.0.5")
    # hosts.data:  'pi': Host(ip='10.0.0.5', port=22)

How it stays safe:

* format: ``repr()`` lines as the original kcore wrote them (the default), or
  JSON with ``file_format='json'``; both are always readable;
* reading: JSON (``json.loads``) or a literal parser (``ast.literal_eval``,
  or for dataclass files a tree walker that only calls the dataclass types and
  ``datetime``); dataclass fields are checked against their annotations;
* writing: temp file + fsync + rename (:func:`kcore.common.write_file_atomic`),
  so a crash leaves the old or the new file, never a torn one;
* freshness: the file's (mtime_ns, size, inode), not its mtime in seconds;
* locking: a thread lock, and an inter-process :class:`kcore.common.FileLock`
  on ``<file>.lock`` for read-modify-write;
* encryption (``password=``): scrypt + AES-GCM through ``kcore.uncommon``
  (``pip install 'kcore-settings[crypto]'``); encrypted files are created 0600.
"""

from __future__ import annotations

__version__ = "0.1.0"

from kcore.persister._base import FILE_FORMATS, Persister, PersisterError
from kcore.persister._dataclasses import (
    DictOfDataclasses,
    ListOfDataclasses,
    PersisterDC,
    PersisterDictOfDC,
    PersisterListOfDC,
)

__all__ = [
    "FILE_FORMATS",
    "DictOfDataclasses",
    "ListOfDataclasses",
    "Persister",
    "PersisterDC",
    "PersisterDictOfDC",
    "PersisterError",
    "PersisterListOfDC",
]
