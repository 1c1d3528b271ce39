"""Bytes to text for every reader: UTF-8 first, a byte-wise cp1252/Latin-1 fallback, never a crash.

Scraped pages and spreadsheet exports are often UTF-8 with a few stray Windows-1252 bytes (curly
quotes pasted from Word), or cp1252 throughout. Decoding the whole file as cp1252 as soon as one
byte is not UTF-8 would garble every correct multi-byte character, so instead only the invalid
bytes are decoded as cp1252 (Latin-1 for the five bytes cp1252 leaves undefined), through a codec
error handler. A pure cp1252 or Latin-1 file then decodes as cp1252, a mixed file keeps its UTF-8.
"""

from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import IO

from .records import Problem

#: Codec error handler name: pass as ``errors=`` to ``bytes.decode``.
FALLBACK = "newsindex.ingest.cp1252"

_BYTE_TO_CHAR: list[str] = []
for _b in range(256):
    try:
        _BYTE_TO_CHAR.append(bytes([_b]).decode("cp1252"))
    except UnicodeDecodeError:
        _BYTE_TO_CHAR.append(chr(_b))  # Latin-1 for 0x81, 0x8D, 0x8F, 0x90, 0x9D


def _fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return "".join(_BYTE_TO_CHAR[b] for b in bad), exc.end


codecs.register_error(FALLBACK, _fallback)

_SNIFF_BYTES = 8192
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def decode(data: bytes) -> str:
    """Decode bytes as UTF-8 (a leading BOM dropped), stray invalid bytes as cp1252/Latin-1.

    Example:
        >>> decode(b"caf\\xc3\\xa9 \\x93quoted\\x94")
        'café “quoted”'
    """
    text = data.decode("utf-8", FALLBACK)
    return text.removeprefix("\ufeff")


# Bytes that text does not hold: C0 controls other than tab, newlines, form feed and ESC
# (ANSI colours in logs), and DEL. Random binary data is ~11% such bytes, text ~0%.
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r\f\x1b") + b"\x7f"
# Binary when over 1 in 20 bytes are such, and at least this many: a stray NUL or two in a
# text file is a bad record (reported at its line), not a binary file.
_BINARY_SHARE = 20
_BINARY_MIN = 8


def control_bytes(data: bytes) -> int:
    """How many bytes of ``data`` are control bytes text does not hold (NUL, BEL, DEL ...)."""
    return len(data) - len(data.translate(None, _CONTROL))


def looks_binary(data: bytes) -> bool:
    """Whether ``data`` is binary rather than text with a few stray control bytes."""
    odd = control_bytes(data)
    return odd >= _BINARY_MIN and odd * _BINARY_SHARE > len(data)


def binary_reason(head: bytes) -> str | None:
    """Why the first bytes of a file show it is not text we can read, or None if they look fine.

    A NUL byte alone does not make a file binary (a stray one is a bad record, reported at its
    line by the reader); many control bytes do.
    """
    head = head[:_SNIFF_BYTES]
    if head.startswith(_UTF16_BOMS):
        return (
            "the file is UTF-16 encoded (it starts with a UTF-16 byte-order mark); save it as UTF-8"
        )
    if looks_binary(head):
        return (
            f"binary file, not text ({control_bytes(head):,} of its first {len(head):,} bytes "
            "are NUL or other control bytes)"
        )
    return None


def nul_problem(path: str, line: int, raw: bytes, *, rest: str = "skipped") -> Problem:
    """The :class:`Problem` for a record (``raw``, starting at ``line``) holding a NUL byte."""
    at = raw.find(b"\0")
    row = line + raw.count(b"\n", 0, at)
    column = at - (raw.rfind(b"\n", 0, at) + 1) + 1
    where = f"line {row}, column {column}" if row != line else f"column {column}"
    return Problem(path, line, None, f"NUL byte at {where}: binary data, not text; {rest}")


def sniff(stream: IO[bytes]) -> str | None:
    """:func:`binary_reason` for the start of an open stream, without consuming it."""
    peek = getattr(stream, "peek", None)
    head = peek(_SNIFF_BYTES)[:_SNIFF_BYTES] if peek else b""
    return binary_reason(head)


def file_problem(path: str, exc: OSError) -> Problem:
    """The :class:`Problem` for a file that could not be opened or read."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return Problem(path, 0, None, f"cannot read the file: {reason}")


def read_file_bytes(path: str, max_bytes: int, *, hint: str = "") -> bytes | Problem:
    """A whole file read as one record, or the :class:`Problem` that prevents it: unreadable,
    over ``max_bytes`` (never loaded past it; ``hint`` adds what to do), or binary."""
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        return file_problem(path, exc)
    if len(data) > max_bytes:
        return Problem(
            path,
            0,
            None,
            f"file is over the record size limit of {max_bytes:,} bytes"
            + (hint or " (raise max_record_bytes to read it)"),
        )
    reason = binary_reason(data[:_SNIFF_BYTES])
    if reason:
        return Problem(path, 0, None, reason)
    return data


def read_text_file(path: str, max_bytes: int) -> str | Problem:
    """A whole small file as text, or the :class:`Problem` that prevents reading it.

    Used by the one-article-per-file formats (raw pages, front matter) and YAML lists; the size
    is checked with ``stat`` before reading so a huge file is never loaded.
    """
    try:
        size = os.stat(path).st_size
        if size > max_bytes:
            return Problem(
                path,
                0,
                None,
                f"file is {size:,} bytes, over the record size limit of {max_bytes:,} bytes "
                "(raise max_record_bytes to read it)",
            )
        data = Path(path).read_bytes()
    except OSError as exc:
        return file_problem(path, exc)
    reason = binary_reason(data[:_SNIFF_BYTES])
    if reason:
        return Problem(path, 0, None, reason)
    if b"\0" in data:  # text with a stray NUL: say where, since the file is the record
        at = data.index(b"\0")
        start = data.rfind(b"\n", 0, at) + 1
        line = data.count(b"\n", 0, at) + 1
        return nul_problem(path, line, data[start : at + 1], rest="the file is skipped")
    return decode(data)
