"""Memory a large request used goes back to the system when the request is done.

glibc's malloc serves blocks of 128 KiB and more with ``mmap`` and gives them back on ``free``,
but each time it gives one back it raises that threshold to the block's size (up to 32 MiB), so
from then on blocks of that size come from the heap, where freed memory stays with the process.
Measured on 2026-12-03: 100 requests carrying ~950 KB documents or variables took a server from
51 to 133-140 MB of RSS that it kept, though nothing held them (``bench/faults.py``'s hostile
corpus: 60 to 1,159 MB, with a cost cache that also held them); with the threshold fixed at 128 KiB,
51 to 53 MB. ``return_large_blocks`` fixes it (``mallopt(M_MMAP_THRESHOLD)``, which also turns the
dynamic raise off); ``MALLOC_MMAP_THRESHOLD_=131072`` in the environment does the same from start.
Every ``serve`` worker calls it once. A C library without ``mallopt`` (musl) is left alone.
"""

from __future__ import annotations

import ctypes
import sys

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
THRESHOLD = 128 * 1024


def return_large_blocks(threshold: int = THRESHOLD) -> bool:
    """Serve blocks of ``threshold`` bytes and more with mmap from now on; True when applied."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
