"""``.json`` files: one JSON object (one article) or an array of them.

The file is parsed whole, so ``max_record_bytes`` applies to the file (use JSON Lines for big
collections; a ``.json`` file that holds one object per line is read as JSON Lines). Each array
item is decoded on its own, so a record knows the line it starts on and a bad item (not an
object, an invalid field) costs only itself; a syntax error stops the file, since where the next
item starts cannot be known.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from ..errors import ArticleError
from .decode import decode, read_file_bytes
from .fields import to_article
from .jsonl import read_jsonl
from .records import Problem, Record

__all__ = ["read_json"]

_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


def read_json(
    path: str, *, mapping: Mapping[str, str | None] | None, max_record_bytes: int
) -> Iterator[Record | Problem]:
    """Yield a :class:`Record` per article of the file, a :class:`Problem` per bad one."""
    data = read_file_bytes(
        path,
        max_record_bytes,
        hint="; a .json file is "
        "read whole (raise max_record_bytes, or store one object per line as .jsonl)",
    )
    if isinstance(data, Problem):
        yield data
        return
    text = decode(data)
    pos = _skip(text, 0)
    if pos == len(text):
        return  # an empty file holds no articles
    if text[pos] == "[":
        yield from _array(text, pos + 1, path, mapping)
        return
    decoded = _decode(text, pos, path)
    if isinstance(decoded, Problem):
        yield decoded
        return
    value, end = decoded
    if _skip(text, end) < len(text) and isinstance(value, dict):
        # One object, then more: JSON Lines saved as .json.
        yield from read_jsonl(path, mapping=mapping, max_record_bytes=max_record_bytes)
        return
    if _skip(text, end) < len(text):
        yield Problem(path, _line(text, _skip(text, end)), None, "invalid JSON: extra data")
        return
    yield _record(value, path, _line(text, pos), mapping, "the file")


def _array(
    text: str, pos: int, path: str, mapping: Mapping[str, str | None] | None
) -> Iterator[Record | Problem]:
    line, counted = 1, 0
    number = 0
    pos = _skip(text, pos)
    if pos < len(text) and text[pos] == "]":
        pos += 1
    else:
        while True:
            decoded = _decode(text, pos, path)
            if isinstance(decoded, Problem):
                yield decoded
                return
            value, end = decoded
            number += 1
            line += text.count("\n", counted, pos)
            counted = pos
            yield _record(value, path, line, mapping, f"array item {number}")
            pos = _skip(text, end)
            if pos < len(text) and text[pos] == ",":
                pos = _skip(text, pos + 1)
                continue
            if pos < len(text) and text[pos] == "]":
                pos += 1
                break
            where = "the end of the file" if pos >= len(text) else repr(text[pos])
            yield Problem(
                path,
                _line(text, min(pos, len(text) - 1)),
                None,
                f"invalid JSON: expected ',' or ']' after array item {number}, found {where}",
            )
            return
    rest = _skip(text, pos)
    if rest < len(text):
        yield Problem(path, _line(text, rest), None, "invalid JSON: extra data after the array")


def _record(
    value: object, path: str, line: int, mapping: Mapping[str, str | None] | None, what: str
) -> Record | Problem:
    if not isinstance(value, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        got = kind.get(type(value), "a number")
        return Problem(path, line, None, f"{what} is {got}, expected a JSON object (one article)")
    try:
        return Record(to_article(value, mapping), path, line)
    except ArticleError as exc:
        return Problem(path, line, exc.field, str(exc))


def _decode(text: str, pos: int, path: str) -> tuple[object, int] | Problem:
    """The JSON value at ``pos`` and where it ends, or the Problem that stops the reading."""
    try:
        return _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        return Problem(
            path, exc.lineno, None, f"invalid JSON: {exc.msg} (column {exc.colno}); stopped reading"
        )
    except RecursionError:
        return Problem(path, _line(text, pos), None, "invalid JSON: nested too deeply")


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1
