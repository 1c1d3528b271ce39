"""Turn files into validated :class:`~newsindex.article.Article` objects, with precise errors.

Formats: scraped news pages (:mod:`.rawtext`), JSON Lines plain or gzipped (:mod:`.jsonl`),
``.json`` files (:mod:`.jsonfile`), CSV and TSV (:mod:`.csvfile`), YAML lists and Markdown front
matter (:mod:`.yamldocs`), saved HTML pages (:mod:`.html`), WARC crawls (:mod:`.warcfile`),
RSS/Atom feeds (:mod:`.feeds`) and Whoosh indexes (:mod:`.whooshdir`); docs/input-formats.md
describes them all. Dates are read by :mod:`.dates`; field mappings and value checks live in
:mod:`.fields`; walking folders, standard input and the ``on_error`` policy in :mod:`.walk`.

Example:
    >>> from newsindex.ingest import iter_records
    >>> for record in iter_records("seeds/"):  # doctest: +SKIP
    ...     print(record.path, record.article.title)
"""

from .dates import DateParseError, parse_news_date
from .fields import check_mapping, load_mapping, to_article
from .rawtext import normalize_source, parse_raw_page, raw_id
from .records import IngestError, Problem, Record
from .walk import FORMATS, count_hint, format_for_path, iter_records

__all__ = [
    "FORMATS",
    "DateParseError",
    "IngestError",
    "Problem",
    "Record",
    "check_mapping",
    "count_hint",
    "format_for_path",
    "iter_records",
    "load_mapping",
    "normalize_source",
    "parse_news_date",
    "parse_raw_page",
    "raw_id",
    "to_article",
]
