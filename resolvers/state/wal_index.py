"""What tells, without I/O, that an SQLite database in WAL mode changed: its WAL index's header.

SQLite rewrites the header (https://www.sqlite.org/walformat.html#the_wal_index_header: two copies
of 48 bytes at the start of the ``-shm`` file, in native byte order, version 3007000 since SQLite
3.7.0) at every commit, by any connection of any process: its change counter, its last frame and
their checksums. A checkpoint may rewrite it too; a read never does. So two equal readings mean
nothing was committed in between, and reading it costs a copy of 96 bytes from shared memory, where
a query of the database costs microseconds.

The file is mapped read-only, once, after the store's own connections opened the database: SQLite
truncates the file only when the first connection to the database opens it, and the store's stay
open until it closes, which unmaps the file first (``close``). A reading SQLite would not trust
(copies that differ, mid-write; not initialised; another version) is None: then callers read the
database.
"""

from __future__ import annotations

import mmap
import os
import sys
from pathlib import Path

HEADER = 48
VERSION = (3007000).to_bytes(4, sys.byteorder)


class WalIndexMark:
    def __init__(self, database: Path) -> None:
        self.path = f"{database}-shm"
        self._map: mmap.mmap | None = None
        self._tried = False  # mapped once, or given up on: never a system call per read

    def read(self) -> bytes | None:
        """The header as it is now, or None (see the module docstring)."""
        shm = self._map
        if shm is None:
            if self._tried:
                return None
            shm = self._open()
            if shm is None:
                return None
        header = shm[: 2 * HEADER]
        # A writer rewrites the second copy, then the first; byte 12 says it is initialised.
        first = header[:HEADER]
        if first != header[HEADER:] or first[:4] != VERSION or not first[12]:
            return None
        return first

    def _open(self) -> mmap.mmap | None:
        self._tried = True
        try:
            with open(self.path, "rb") as file:
                if os.fstat(file.fileno()).st_size < 2 * HEADER:
                    return None
                self._map = mmap.mmap(file.fileno(), 2 * HEADER, access=mmap.ACCESS_READ)
        except (OSError, ValueError):
            return None
        return self._map

    def close(self) -> None:
        """Unmap the file, for good (before the store's connections close)."""
        self._tried = True
        if self._map is not None:
            self._map.close()
            self._map = None
