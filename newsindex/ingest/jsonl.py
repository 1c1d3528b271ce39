"""JSON Lines, plain or gzip-compressed: one JSON object (one article) per line.

The record shape is the one of ``shared/data/*/docs.jsonl.gz``:
``{"id", "title", "body", "date", "source", "section", "author", "url", "extra"}``; other fields
go to ``extra`` and a field mapping can rename them (see :mod:`newsindex.ingest.fields`).

Lines are read as bytes with a length cap, so one runaway line (a binary file, a missing newline)
costs at most ``max_record_bytes`` of memory before it is reported and skipped. Gzip is
recognised by its magic bytes, whatever the file is called.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import IO

from ..errors import ArticleError
from .decode import FALLBACK, file_problem, looks_binary, nul_problem, sniff
from .fields import to_article
from .records import Problem, Record

__all__ = ["open_maybe_gzip", "read_jsonl"]

_GZIP_MAGIC = b"\x1f\x8b"
_SKIP_CHUNK = 1 << 20


def open_maybe_gzip(path: str) -> IO[bytes]:
    """Open a file for reading bytes, decompressing on the fly when it starts with gzip's magic."""
    raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
    try:
        magic = raw.read(2)
        raw.seek(0)
    except OSError:
        raw.close()
        raise
    if magic == _GZIP_MAGIC:
        # A binary stream, though typeshed does not derive GzipFile from IO[bytes].
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def read_jsonl(
    path: str,
    *,
    mapping: Mapping[str, str | None] | None,
    max_record_bytes: int,
    stream: IO[bytes] | None = None,
    lines: Callable[[int], bool] | None = None,
) -> Iterator[Record | Problem]:
    """Yield a :class:`Record` per JSON line, a :class:`Problem` per bad line (blank lines skipped).

    ``lines``: read only the lines whose number (from 1) it accepts, the others skipped
    undecoded (a partition of a file that several workers read, each its own lines).

    A file that cannot be opened, is binary, or is a corrupt/truncated gzip stream yields one
    problem and stops there (what follows a corrupt gzip block cannot be read). With ``stream``
    (standard input, already decompressed), that is read and ``path`` only names it.
    """
    if stream is None:
        try:
            stream = open_maybe_gzip(path)
        except OSError as exc:
            yield file_problem(path, exc)
            return
    lineno = 0
    with stream:
        try:
            reason = sniff(stream)
            if reason:
                yield Problem(path, 0, None, reason)
                return
            while True:
                raw = stream.readline(max_record_bytes + 1)
                if not raw:
                    return
                lineno += 1
                if lines is not None and not lines(lineno):
                    _skip_rest_of_line(stream, raw)
                    continue
                size = len(raw) - (2 if raw.endswith(b"\r\n") else 1 if raw.endswith(b"\n") else 0)
                if b"\0" in raw and size <= max_record_bytes:
                    if looks_binary(raw):  # not a stray byte: what follows is not text either
                        yield Problem(
                            path, lineno, None, "binary data, not text; stopped reading this file"
                        )
                        return
                    yield nul_problem(path, lineno, raw)
                    continue
                if size > max_record_bytes:
                    _skip_rest_of_line(stream, raw)
                    yield Problem(
                        path,
                        lineno,
                        None,
                        f"record is over the size limit of {max_record_bytes:,} bytes "
                        "(raise max_record_bytes to read it)",
                    )
                    continue
                item = _record(raw, path, lineno, mapping)
                if item is not _BLANK:
                    yield item
        except (OSError, EOFError, zlib.error) as exc:  # corrupt or truncated gzip, I/O error
            yield Problem(
                path,
                lineno + 1,
                None,
                f"cannot read past line {lineno}: {exc or type(exc).__name__}; "
                "stopped reading this file",
            )


def _record(
    raw: bytes, path: str, lineno: int, mapping: Mapping[str, str | None] | None
) -> Record | Problem:
    text = raw.decode("utf-8", FALLBACK)
    if lineno == 1 and text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        return _BLANK
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Problem(path, lineno, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
    except RecursionError:
        return Problem(path, lineno, None, "invalid JSON: nested too deeply")
    if not isinstance(data, dict):
        return Problem(
            path, lineno, None, f"expected a JSON object (one article), got {_json_type(data)}"
        )
    try:
        return Record(to_article(data, mapping), path, lineno)
    except ArticleError as exc:
        return Problem(path, lineno, exc.field, str(exc))


def _skip_rest_of_line(stream: IO[bytes], raw: bytes) -> None:
    while raw and not raw.endswith(b"\n"):
        raw = stream.readline(_SKIP_CHUNK)


def _json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


# Blank lines are not records; a sentinel keeps the hot loop to one call per line.
_BLANK = Problem("", 0, None, "")
