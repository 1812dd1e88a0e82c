"""Seeds derived from the config's seed, identical across processes and machines."""

from __future__ import annotations

import zlib


def stable_seed(*parts: object) -> int:
    """A 31-bit seed from the config seed and names (Python's ``hash`` of a
    string is salted per process, so it cannot serve)."""
    return zlib.crc32("/".join(map(str, parts)).encode()) & 0x7FFFFFFF
