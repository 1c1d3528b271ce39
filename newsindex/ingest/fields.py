"""From an input record (a dict of whatever fields a feed has) to a validated :class:`Article`.

A *field mapping* renames input fields to article fields, e.g.
``{"published_at": "date", "category": "section", "headline": "title"}``. A mapping value of
``None`` drops that input field (useful for nested objects or bulky HTML). Input fields that are
neither article fields nor mapped are kept in ``extra`` under their own name: feeds carry useful
metadata (tags, places, word counts) that should not be lost, and a strict mode would reject every
real-world feed until someone wrote a mapping for each of its fields. This applies to JSONL, CSV
and YAML alike. The price is that a misspelt field (``titel``) lands in ``extra`` silently; a
mapping fixes that.

Values are checked here, before :class:`Article` sees them, so messages name the input field:
``id`` is required (an integer id becomes a string); ``date`` is parsed with
:func:`newsindex.ingest.dates.parse_news_date`; text and keyword fields must be strings, and blank
keyword values (``source``, ``section``, ``author``, ``url``) become None.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from ..article import ARTICLE_FIELDS, Article
from ..errors import ArticleError, ConfigError
from .dates import DateParseError, parse_news_date

_ARTICLE_KEYS = frozenset(ARTICLE_FIELDS)
_BLANK_IS_NONE = ("source", "section", "author", "url")
_STRIPPED = ("title", "source", "section", "author", "url")
# Extra values that need no conversion; checked by exact type first because isinstance against
# ABCs costs more than the rest of a record's conversion.
_PLAIN_TYPES = frozenset([str, list, int, float, bool, type(None)])


def check_mapping(mapping: Mapping[str, str | None]) -> dict[str, str | None]:
    """Validate a field mapping and return it as a plain dict.

    Args:
        mapping: input field name -> article field name (one of ``ARTICLE_FIELDS``) or None to
            drop the input field.

    Raises:
        ConfigError: (a ``ValueError``) naming the first bad entry and the allowed targets.
    """
    if not isinstance(mapping, Mapping):
        raise ConfigError(f"a field mapping must be a mapping, got {type(mapping).__name__}")
    out: dict[str, str | None] = {}
    for key, target in mapping.items():
        if not isinstance(key, str) or not key:
            raise ConfigError(f"field mapping keys must be non-empty strings, got {key!r}")
        if target is not None and target not in _ARTICLE_KEYS:
            raise ConfigError(
                f"field mapping {key!r}: {target!r} is not an article field; "
                f"use one of {', '.join(ARTICLE_FIELDS)}, or null to drop the field"
            )
        out[key] = target
    return out


def load_mapping(path: str | Path) -> dict[str, str | None]:
    """Read a field mapping from a YAML file holding one mapping (``published_at: date`` ...).

    Example file::

        published_at: date
        category: section
        headline: title
        html: null        # dropped

    Raises:
        ConfigError: the file cannot be read, is not YAML, or is not a valid mapping; the message
            names the file.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the field mapping: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: the field mapping is not valid YAML: {exc}") from None
    try:
        return check_mapping(data if data is not None else {})
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def to_article(
    data: Mapping[str, Any],
    mapping: Mapping[str, str | None] | None = None,
    *,
    extra_as_json: bool = False,
) -> Article:
    """Build an :class:`Article` from one input record, applying ``mapping`` (see module doc).

    Args:
        data: the record's fields, as read.
        mapping: a validated mapping (:func:`check_mapping`), or None.
        extra_as_json: accept ``extra`` as a JSON object in a string (CSV cells hold only text).

    Raises:
        ArticleError: with ``.field`` set to the article field at fault.
    """
    values: dict[str, Any] = {}
    unknown: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, value in data.items():
        target = mapping.get(key, key) if mapping else key
        if target is None:
            continue
        if target not in _ARTICLE_KEYS:
            unknown[key] = value
            continue
        if target in origin:
            raise ArticleError(
                f"input fields {origin[target]!r} and {key!r} both give the article field "
                f"{target!r}; drop one with a mapping to null",
                field=target,
            )
        origin[target] = key
        values[target] = value

    values["id"] = _id(values.get("id"), origin.get("id", "id"))
    for name in _STRIPPED:
        value = values.get(name)
        if isinstance(value, str):
            value = value.strip()
            values[name] = None if not value and name in _BLANK_IS_NONE else value
    body = values.get("body")
    if isinstance(body, str) and "\r" in body:  # CSV cells and Windows files keep CR LF
        values["body"] = body.replace("\r\n", "\n").replace("\r", "\n")
    values["date"] = _date(values.get("date"))
    values["extra"] = _extra(values.get("extra"), unknown, extra_as_json)
    return Article(**values)


def _id(value: Any, key: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ArticleError(
            f"missing required field {key!r} (every record needs a unique id; "
            "map another field to it with mapping={'your_field': 'id'})",
            field="id",
        )
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value  # Article checks the type and length


def _date(value: Any) -> _dt.date | None:
    if value is None or isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return parse_news_date(value)
        except DateParseError as exc:
            raise ArticleError(str(exc), field="date") from None
    raise ArticleError(
        f"field 'date' must be a date string such as '2016-11-09', got {type(value).__name__} "
        f"{value!r}",
        field="date",
    )


def _extra(explicit: Any, unknown: dict[str, Any], extra_as_json: bool) -> dict[str, Any]:
    if explicit is None or explicit == "":
        merged: dict[str, Any] = {}
    elif extra_as_json and isinstance(explicit, str):
        try:
            merged = json.loads(explicit)
        except json.JSONDecodeError as exc:
            raise ArticleError(
                f"field 'extra' is not a JSON object: {exc}", field="extra"
            ) from None
        except RecursionError:
            raise ArticleError("field 'extra' is nested too deeply", field="extra") from None
        if not isinstance(merged, dict):
            raise ArticleError(
                f"field 'extra' must be a JSON object, got {type(merged).__name__}", field="extra"
            )
    elif isinstance(explicit, Mapping):
        merged = dict(explicit)
    else:
        raise ArticleError(
            f"field 'extra' must be a mapping, got {type(explicit).__name__}", field="extra"
        )
    for key, value in unknown.items():
        if key in merged:
            raise ArticleError(
                f"{key!r} is both a field of the record and a key of its 'extra'",
                field=f"extra.{key}",
            )
        merged[key] = value
    for key, value in merged.items():
        if type(value) in _PLAIN_TYPES:
            continue
        if isinstance(value, _dt.date):  # YAML turns 2016-11-09 into a date object
            merged[key] = value.isoformat()
        elif isinstance(value, Mapping):
            raise ArticleError(
                f"{key!r} is a nested object; extra values must be strings, numbers or lists of "
                f"them (drop it with mapping={{{key!r}: None}}, or flatten it)",
                field=f"extra.{key}",
            )
    return merged
