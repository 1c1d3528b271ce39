"""The CRC-32 of index bytes (zlib's checksum, the one every index file records).

Computed by zlib-ng where it is installed (a dependency on the Pythons it has wheels for):
the same values as :func:`zlib.crc32`, several times faster, which a cold search pays for
every chunk of postings it reads for the first time (:mod:`.arrays`). Elsewhere zlib's own.
Short strings hashed into tables (:mod:`.strtable`, :mod:`.minhash`) keep zlib's: the same
values, and the call is all their cost.
"""

from __future__ import annotations

try:
    from zlib_ng.zlib_ng import crc32
except ImportError:  # (no wheel for this Python: zlib computes the same checksum)
    from zlib import crc32

__all__ = ["crc32"]
