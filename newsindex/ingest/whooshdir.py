"""Whoosh indexes as a source: every stored document of a Whoosh index folder, as articles.

Moving from Whoosh is one command: ``newsindex index NEW_INDEX --from-whoosh OLD_FOLDER``
(``iter_records(folder, format="whoosh")`` in Python; fields renamed by a ``--map`` YAML file as
for any other source, e.g. ``{content: body, path: id}``). Only *stored* fields can be read back
out of a Whoosh index: a field that was indexed but not stored has no text left to import, and
the reader says so instead of importing empty articles.

Whoosh indexes are pickles: Whoosh reads its table of contents (``_*.toc``) with :mod:`pickle`,
so opening a crafted index runs arbitrary code. Import only indexes you trust; a folder walk
never opens one by itself (it reports the folder instead).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from ..errors import ArticleError
from ..schema import TEXT_FIELDS
from .fields import to_article
from .records import Problem, Record

if TYPE_CHECKING:
    from whoosh.fields import Schema


def is_whoosh_toc(name: str) -> bool:
    """Whether a file name is a Whoosh table of contents (``_<name>_<generation>.toc``).

    Judged by the name alone: the file itself is a pickle and is never read to find out.
    """
    return name.startswith("_") and name.endswith(".toc")


def read_whoosh(
    path: str, *, mapping: Mapping[str, str | None] | None = None, max_record_bytes: int = 0
) -> Iterator[Record | Problem]:
    """Yield a :class:`Record` per live document of the Whoosh index in ``path`` (``line`` is
    the Whoosh document number + 1), or :class:`Problem` objects.

    ``max_record_bytes`` is accepted for the reader interface; Whoosh bounds its own fields.
    """
    try:
        from whoosh import index as whoosh_index
        from whoosh.index import EmptyIndexError
    except ImportError:  # pragma: no cover - whoosh is a dependency
        yield Problem(path, 0, None, "reading a Whoosh index needs the whoosh package")
        return
    try:
        ix = whoosh_index.open_dir(path, readonly=True)
    except EmptyIndexError as exc:
        yield Problem(path, 0, None, f"cannot open the Whoosh index: {exc}")
        return
    except Exception as exc:  # noqa: BLE001 - unpickling a damaged file can raise anything
        reason = str(exc) or type(exc).__name__
        yield Problem(path, 0, None, f"cannot open the Whoosh index: {reason}")
        return
    try:
        problem = _check_schema(path, ix.schema, mapping)
        if problem is not None:
            yield problem
            return
        with ix.reader() as reader:
            for docnum, stored in reader.iter_docs():
                try:
                    article = to_article({k: _plain(v) for k, v in stored.items()}, mapping)
                except ArticleError as exc:
                    yield Problem(path, docnum + 1, exc.field, str(exc))
                    continue
                yield Record(article, path, docnum + 1)
    finally:
        ix.close()


def count_whoosh(path: str) -> int | None:
    try:
        from whoosh import index as whoosh_index

        ix = whoosh_index.open_dir(path, readonly=True)
    except Exception:  # noqa: BLE001 - only an estimate for a progress bar
        return None
    try:
        return ix.doc_count()
    finally:
        ix.close()


def _check_schema(
    path: str, schema: Schema, mapping: Mapping[str, str | None] | None
) -> Problem | None:
    """A problem when no stored field can give an article its id or its text."""
    target = {name: (mapping.get(name, name) if mapping else name) for name in schema.names()}
    stored = [n for n in schema.names() if schema[n].stored]
    lost = [n for n in schema.names() if not schema[n].stored]
    if "id" not in {target[n] for n in stored}:
        return Problem(
            path,
            0,
            "id",
            f"no stored field gives the article id; map a unique stored field to it, e.g. "
            f"with mapping={{'path': 'id'}}; stored fields: "
            f"{', '.join(stored) or 'none'}",
        )
    if not {target[n] for n in stored} & set(TEXT_FIELDS):
        note = f"; indexed but not stored, so not importable: {', '.join(lost)}" if lost else ""
        return Problem(
            path,
            0,
            None,
            f"no stored field gives the title or body; map one to it, e.g. with "
            f"mapping={{'content': 'body'}}; stored fields: {', '.join(stored) or 'none'}{note}",
        )
    return None


def _plain(value):
    """Whoosh stores datetimes, numbers and bytes; articles take ISO dates and text."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
