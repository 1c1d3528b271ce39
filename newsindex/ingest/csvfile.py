"""CSV (and TSV) files with a header row naming the fields; one article per row.

Column names are article fields, mapped names (see :mod:`newsindex.ingest.fields`), or anything
else, which goes to ``extra``. CSV has no null, so an empty cell means "no value": the field is
left out (a blank ``id`` is therefore a missing id). An ``extra`` column may hold a JSON object.

Rows may span several lines (quoted newlines); :attr:`Record.line` is the row's first line. The
bytes of each row are counted as it is read, so a row over ``max_record_bytes`` is caught without
being loaded whole; the rest of that file is then skipped, because where an unfinished quoted row
ends cannot be known without parsing it (other files go on).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from typing import IO

from ..errors import ArticleError
from .decode import FALLBACK, file_problem, looks_binary, nul_problem
from .decode import sniff as _sniff
from .fields import to_article
from .records import Problem, Record

__all__ = ["read_csv"]


class _Stop(Exception):
    """Raised from inside the line feed to abort the csv reader with a problem."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _Lines:
    """Feeds decoded lines to :mod:`csv`, counting lines and the bytes of the current row."""

    def __init__(self, stream: IO[bytes], max_row_bytes: int):
        self.stream = stream
        self.max_row_bytes = max_row_bytes
        self.lineno = 0
        self.row_bytes = 0
        self.nul: bytes | None = None  # the current row's first line holding a NUL byte
        self.nul_line = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        # + 3: a line of exactly the limit plus "\r\n" comes whole; a longer one is cut and
        # then caught below, so csv never sees half a line.
        raw = self.stream.readline(self.max_row_bytes + 3)
        if not raw:
            raise StopIteration
        self.lineno += 1
        self.row_bytes += len(raw)
        if b"\0" in raw:
            if looks_binary(raw):  # not a stray byte: what follows is not text either
                raise _Stop("binary data, not text; stopped reading this file")
            if self.nul is None:
                self.nul, self.nul_line = raw, self.lineno
            raw = raw.replace(b"\0", b"")  # the row is reported, but its shape still counts
        if self.row_bytes > self.max_row_bytes + 2:  # + 2: the row's own line ending
            raise _Stop(
                f"record is over the size limit of {self.max_row_bytes:,} bytes (raise "
                "max_record_bytes to read it); the rest of this file is skipped"
            )
        text = raw.decode("utf-8", FALLBACK)
        return text[1:] if self.lineno == 1 and text.startswith("\ufeff") else text


def read_csv(
    path: str,
    *,
    mapping: Mapping[str, str | None] | None,
    max_record_bytes: int,
    delimiter: str = ",",
    stream: IO[bytes] | None = None,
) -> Iterator[Record | Problem]:
    """Yield a :class:`Record` per data row and a :class:`Problem` per bad row (from ``stream``
    when given, e.g. standard input; ``path`` then only names it)."""
    # The csv module refuses fields over 128 KiB by default; long articles are bigger. The
    # limit is process-wide, so it is only ever raised, never lowered.
    if csv.field_size_limit() < max_record_bytes:
        csv.field_size_limit(max_record_bytes)
    if stream is None:
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            yield file_problem(path, exc)
            return
    with stream:
        reason = _sniff(stream)
        if reason:
            yield Problem(path, 0, None, reason)
            return
        lines = _Lines(stream, max_record_bytes)
        # strict: a stray quote or a quote left open at the end is an error, not a silent merge
        # of the rest of the file into one cell.
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        header: list[str] | None = None
        while True:
            start = lines.lineno + 1
            lines.row_bytes = 0
            lines.nul = None
            try:
                row = next(reader)
            except StopIteration:
                return
            except _Stop as stop:
                yield Problem(path, start, None, stop.message)
                return
            except csv.Error as exc:
                yield Problem(path, start, None, f"malformed CSV: {exc}; stopped reading this file")
                return
            except OSError as exc:
                yield file_problem(path, exc)
                return
            if lines.nul is not None:
                if header is None:  # without its header, no row of the file can be read
                    yield nul_problem(path, start, lines.nul, rest="stopped reading this file")
                    return
                yield _nul_row(path, start, lines)
                continue
            if not row:
                continue  # blank line
            if header is None:
                header = [name.strip() for name in row]
                problem = _check_header(path, start, header)
                if problem:
                    yield problem
                    return
                continue
            yield _record(path, start, header, row, mapping)


def _nul_row(path: str, start: int, lines: _Lines) -> Problem:
    assert lines.nul is not None
    problem = nul_problem(path, lines.nul_line, lines.nul)
    if lines.nul_line == start:
        return problem
    return Problem(path, start, None, f"line {lines.nul_line}: {problem.message}")


def _check_header(path: str, line: int, header: list[str]) -> Problem | None:
    seen: set[str] = set()
    for number, name in enumerate(header, start=1):
        if not name:
            return Problem(path, line, None, f"header column {number} has no name")
        if name in seen:
            return Problem(path, line, name, f"column {name!r} appears twice in the header")
        seen.add(name)
    return None


def _record(
    path: str,
    line: int,
    header: list[str],
    row: list[str],
    mapping: Mapping[str, str | None] | None,
) -> Record | Problem:
    if len(row) != len(header):
        return Problem(
            path,
            line,
            None,
            f"row has {len(row)} values but the header has {len(header)} columns",
        )
    data = {name: value for name, value in zip(header, row) if value != ""}
    try:
        return Record(to_article(data, mapping, extra_as_json=True), path, line)
    except ArticleError as exc:
        return Problem(path, line, exc.field, str(exc))
