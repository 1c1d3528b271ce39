"""YAML: a file holding a list of articles, or Markdown/text with YAML front matter.

A YAML list file (``.yaml``/``.yml``) is a sequence of mappings, one article each (a single
top-level mapping is one article); a file of several documents separated by ``---`` holds the
articles of each (one mapping or a list per document). It is parsed whole, so ``max_record_bytes`` applies to the
whole file, not to each item: YAML suits hand-written sets; use JSONL for big collections.

A front-matter file (``.md``, or ``.txt`` starting with ``---``) is::

    ---
    id: 42
    title: Battle for Aleppo
    date: 2016-11-09
    ---
    The body, everything after the closing line.

YAML is read with the safe loader only (:func:`yaml.safe_load`, :func:`yaml.safe_load_all`). To
give each list item its line number, the documents are also composed into nodes with the safe
loader (nodes carry positions; composing builds no Python objects).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from ..errors import ArticleError
from .decode import read_text_file
from .fields import to_article
from .records import Problem, Record

__all__ = ["read_front_matter", "read_yaml_list"]

_FENCE = "---"
_CLOSERS = ("---", "...")


def read_yaml_list(
    path: str, *, mapping: Mapping[str, str | None] | None, max_record_bytes: int
) -> Iterator[Record | Problem]:
    """Yield a :class:`Record` per list item, a :class:`Problem` per bad item or a bad file."""
    text = read_text_file(path, max_record_bytes)
    if isinstance(text, Problem):
        yield text
        return
    try:
        # Every document of a multi-document file (``---`` between them); composed too, for
        # the line each item starts on.
        documents = list(yaml.safe_load_all(text))
        roots = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        yield Problem(path, _error_line(exc), None, f"invalid YAML: {_yaml_message(exc)}")
        return
    except RecursionError:
        yield Problem(path, 1, None, "invalid YAML: nested too deeply")
        return
    several = len(documents) > 1
    for number, (data, root) in enumerate(zip(documents, roots), start=1):
        where = f"document {number}" if several else "the file"
        if data is None:
            continue  # an empty document holds no articles
        if isinstance(data, dict):
            items, nodes = [data], [root]
        elif isinstance(data, list):
            items = data
            nodes = root.value if isinstance(root, yaml.SequenceNode) else []
        else:
            line = root.start_mark.line + 1 if root is not None else 1
            yield Problem(
                path,
                line,
                None,
                f"{where}: expected a list of articles (or one article as a mapping), "
                f"got {type(data).__name__}",
            )
            continue
        for index, item in enumerate(items):
            node = nodes[index] if index < len(nodes) else None
            line = node.start_mark.line + 1 if node is not None else 1
            if not isinstance(item, dict):
                yield Problem(
                    path,
                    line,
                    None,
                    f"list item {index + 1} is a {type(item).__name__}, expected a mapping of "
                    "fields",
                )
                continue
            yield _record(item, path, line, mapping)


def read_front_matter(
    path: str, *, mapping: Mapping[str, str | None] | None, max_record_bytes: int
) -> Iterator[Record | Problem]:
    """Read one front-matter file: yields one :class:`Record` (line 1) or one :class:`Problem`."""
    text = read_text_file(path, max_record_bytes)
    if isinstance(text, Problem):
        yield text
        return
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not lines or lines[0].strip() != _FENCE:
        yield Problem(path, 1, None, "expected front matter: the first line must be '---'")
        return
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() in _CLOSERS), None)
    if close is None:
        yield Problem(path, 1, None, "the front matter opened on line 1 is never closed by '---'")
        return
    try:
        meta = yaml.safe_load("\n".join(lines[1:close]))
    except yaml.YAMLError as exc:
        line = _error_line(exc) + 1  # + 1: the opening fence
        yield Problem(path, line, None, f"invalid YAML front matter: {_yaml_message(exc)}")
        return
    except RecursionError:
        yield Problem(path, 2, None, "invalid YAML front matter: nested too deeply")
        return
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        yield Problem(
            path, 2, None, f"front matter must be a mapping of fields, got {type(meta).__name__}"
        )
        return
    body = "\n".join(lines[close + 1 :]).strip()
    if body:
        if _has_body(meta, mapping):
            yield Problem(
                path,
                1,
                "body",
                "the body is given both in the front matter and after it; keep one",
            )
            return
        meta = {**meta, "body": body}
    yield _record(meta, path, 1, mapping)


def _record(
    data: dict[Any, Any], path: str, line: int, mapping: Mapping[str, str | None] | None
) -> Record | Problem:
    bad_key = next((key for key in data if not isinstance(key, str)), None)
    if bad_key is not None:
        return Problem(path, line, None, f"field names must be strings, got {bad_key!r}")
    try:
        return Record(to_article(data, mapping), path, line)
    except ArticleError as exc:
        return Problem(path, line, exc.field, str(exc))


def _has_body(meta: dict[Any, Any], mapping: Mapping[str, str | None] | None) -> bool:
    for key, value in meta.items():
        target = mapping.get(key, key) if mapping else key
        if target == "body" and value not in (None, ""):
            return True
    return False


def _error_line(exc: yaml.YAMLError) -> int:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else 1


def _yaml_message(exc: yaml.YAMLError) -> str:
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        return f"{context}, {problem}" if context else str(problem)
    return str(exc).splitlines()[0]
