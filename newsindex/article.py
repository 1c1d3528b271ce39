"""The unit of indexing: one news article, validated on construction."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping  # not typing's: isinstance is cheaper
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from .errors import ArticleError
from .schema import TEXT_FIELDS

#: Longest accepted id, in characters.
MAX_ID_LENGTH = 512
#: Largest accepted text field (title, body, ...), in characters.
MAX_FIELD_CHARS = 5_000_000

#: The string fields :meth:`Article.__post_init__` checks, in the order it lists them.
OPTIONAL_STRINGS = ("title", "body", "source", "section", "author", "url")

Date = _dt.date  # a datetime is a date too


@dataclass(frozen=True, slots=True)
class Article:
    """A news article.

    ``id`` is required and unique within an index; adding an article whose id is already indexed
    replaces the old version. ``date`` is a :class:`datetime.date` or :class:`datetime.datetime`
    (ISO 8601 strings are accepted by :meth:`from_dict`). ``extra`` holds anything else, as
    ``str -> str | list[str]``.
    """

    id: str
    title: str = ""
    body: str = ""
    date: _dt.date | None = None
    source: str | None = None
    section: str | None = None
    author: str | None = None
    url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_id(self.id)
        if type(self.id) is not str:
            # A str subclass may hash or compare its own way: ids are looked up in dicts
            # and filters by value, so the article keeps the plain string.
            object.__setattr__(self, "id", str.__str__(self.id))
        values = (self.title, self.body, self.source, self.section, self.author, self.url)
        for name, value in zip(OPTIONAL_STRINGS, values):
            # The common case (ASCII text of sane size) costs three C calls; anything else
            # takes the careful path that knows every error message.
            if type(value) is not str or len(value) > MAX_FIELD_CHARS or not value.isascii():
                _check_optional_string(self, name, value)
        if self.date is not None and not isinstance(self.date, _dt.date):
            raise ArticleError(
                f"field 'date' must be a date or datetime, got {type(self.date).__name__}",
                field="date",
            )
        _check_extra(self.extra)

    @classmethod
    def from_dict(cls, data: Article | Mapping[str, Any]) -> Article:
        """Build an article from a mapping with the keys of :data:`ARTICLE_FIELDS` (an
        article is returned as it is).

        ``date`` may be an ISO 8601 string (``2016-11-09``, ``2016-11-09T10:30:00``, with or
        without a zone); unknown keys raise :class:`ArticleError` so typos do not pass silently.
        """
        if isinstance(data, Article):
            return data
        if not isinstance(data, Mapping):
            raise ArticleError(f"an article must be a mapping, got {type(data).__name__}")
        if not _KNOWN_FIELDS.issuperset(data):
            unknown = set(data) - _KNOWN_FIELDS
            names = sorted(map(str, unknown))
            shown = ", ".join(n[:40] for n in names[:5])
            more = f" and {len(names) - 5:,} more" if len(names) > 5 else ""
            raise ArticleError(
                f"unknown field(s) {shown}{more}; known: {', '.join(ARTICLE_FIELDS)}",
                field=names[0],
            )
        if "id" not in data or data["id"] is None:
            raise ArticleError("missing required field 'id'", field="id")
        values = dict(data)
        if isinstance(values["id"], int) and not isinstance(values["id"], bool):
            values["id"] = str(values["id"])
        values["date"] = parse_date(values.get("date"))
        if values.get("extra") is None:
            values["extra"] = {}
        if cls is Article:
            return _new_article(values)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the date as an ISO 8601 string)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.date is not None:
            out["date"] = self.date.isoformat()
        out["extra"] = dict(self.extra)
        return out

    @property
    def day(self) -> _dt.date | None:
        """The calendar day of :attr:`date` (a datetime's time dropped)."""
        if isinstance(self.date, _dt.datetime):
            return self.date.date()
        return self.date


def _new_article(values: dict[str, Any]) -> Article:
    """``Article(**values)`` without the frozen dataclass's ``__init__``, which sets each field
    through ``object.__setattr__`` (much of what adding an article cost): the slots are
    filled through their descriptors, then validated by the same ``__post_init__``."""
    article = object.__new__(Article)
    for name, set_slot, default in _SLOTS:
        set_slot(article, values.get(name, default))
    article.__post_init__()
    return article


def parse_date(value: Any) -> _dt.date | None:
    """Accept a date, a datetime, an ISO 8601 string or None; anything else is an ArticleError."""
    if value is None or isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            if len(text) == 10:
                return _dt.date.fromisoformat(text)
            return _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ArticleError(
                f"field 'date': {value!r} is not an ISO 8601 date (e.g. 2016-11-09 or "
                "2016-11-09T10:30:00Z)",
                field="date",
            ) from None
    raise ArticleError(
        f"field 'date' must be a date or an ISO 8601 string, got {type(value).__name__}",
        field="date",
    )


#: Every field of an article, in order (what :meth:`Article.from_dict` accepts).
ARTICLE_FIELDS = tuple(f.name for f in fields(Article))
_KNOWN_FIELDS = frozenset(ARTICLE_FIELDS)

# (name, slot setter, default) of every field; ``extra``'s default is always given.
_SLOTS = tuple(
    (f.name, getattr(Article, f.name).__set__, None if f.default is MISSING else f.default)
    for f in fields(Article)
)


def _check_optional_string(article: Article, name: str, value: Any) -> None:
    if value is None:
        if name in TEXT_FIELDS:
            object.__setattr__(article, name, "")
        return
    if not isinstance(value, str):
        raise ArticleError(
            f"field {name!r} must be a string, got {type(value).__name__}", field=name
        )
    if not value.isascii():
        _check_encodable(value, name)
    if len(value) > MAX_FIELD_CHARS:
        raise ArticleError(
            f"field {name!r} has {len(value):,} characters, over the limit of {MAX_FIELD_CHARS:,}",
            field=name,
        )


def _check_encodable(value: str, name: str) -> None:
    """Lone surrogates (e.g. JSON "\\ud800") cannot be stored as UTF-8: refuse them here, naming
    the field, rather than fail the whole commit later."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ArticleError(
            f"field {name!r} holds a character that is not valid Unicode text "
            f"({value[exc.start]!r} at offset {exc.start})",
            field=name,
        ) from None


def _check_id(value: Any) -> None:
    if not isinstance(value, str):
        raise ArticleError(f"field 'id' must be a string, got {type(value).__name__}", field="id")
    if not value.isascii():
        _check_encodable(value, "id")
    if not value.strip():
        raise ArticleError("field 'id' must not be empty", field="id")
    if len(value) > MAX_ID_LENGTH:
        raise ArticleError(
            f"field 'id' has {len(value)} characters, over the limit of {MAX_ID_LENGTH}", field="id"
        )


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _check_extra(extra: Any) -> None:
    if not isinstance(extra, Mapping):
        raise ArticleError(
            f"field 'extra' must be a mapping, got {type(extra).__name__}", field="extra"
        )
    for key, value in extra.items():
        kind = type(value)
        if type(key) is str:
            if kind is str:
                if not value.isascii():
                    _check_encodable(value, f"extra.{key}")
                continue
            if kind is list:
                # join() succeeds only on a list of strings: one C call checks the types
                # and yields the text whose ASCII-ness covers every item.
                try:
                    if "".join(value).isascii():
                        continue
                except TypeError:
                    pass
            elif kind in _SCALARS:
                continue
        _check_extra_value(key, value)


def _check_extra_value(key: Any, value: Any) -> None:
    kind = type(value)
    if not isinstance(key, str):
        raise ArticleError(f"field 'extra' has a non-string key {key!r}", field="extra")
    if kind in _SCALARS:
        if kind is str and not value.isascii():
            _check_encodable(value, f"extra.{key}")
        return
    # set(map(type, ...)) keeps the check at C speed for the long lists news feeds carry.
    if kind in (list, tuple) and set(map(type, value)) <= _SCALARS:
        for item in value:
            if type(item) is str and not item.isascii():
                _check_encodable(item, f"extra.{key}")
        return
    raise ArticleError(
        f"field 'extra.{key}' must be a string, number or list of them, got {kind.__name__}",
        field=f"extra.{key}",
    )
