"""Stored rows: whatever an article may hold reads back as it was written, through orjson's
blocks, the json module's fallback blocks and the blocks older versions wrote with json."""

from __future__ import annotations

import datetime as dt
import json
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsindex.article import Article
from newsindex.errors import ArticleError, IndexCorruptError
from newsindex.index import docstore


class Text(str):
    """A str subclass: an article's strings may be one."""


def canonical(value: Any) -> Any:
    """A value as JSON keeps it, comparable where == is not: NaN equal to NaN, 0.0 and -0.0
    apart, True apart from 1, a str subclass as its text, a tuple as a list."""
    if type(value) is bool or value is None:
        return value
    if isinstance(value, float):
        return ("float", value.hex())
    if isinstance(value, int):
        return ("int", int(value))
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return [(canonical(k), canonical(v)) for k, v in value.items()]
    if isinstance(value, dt.date):
        return value.isoformat()
    raise AssertionError(f"unexpected {type(value)}")


def as_stored(article: Article) -> list[Any]:
    """An article's fields, canonical."""
    return [canonical(getattr(article, name)) for name in docstore._FIELDS]


def as_row(article: Article) -> list[Any]:
    """An article's stored row (its date as text, no extra as null), canonical."""
    return canonical(docstore._row(article))


texts = st.text(max_size=40)  # any code point but surrogates: what an article accepts
ids = st.text(min_size=1, max_size=12).filter(str.strip)
strings = st.one_of(texts, texts.map(Text))


def no_pair(text: str) -> bool:
    """Surrogate pairs as two code points are refused (see the test below)."""
    return docstore._SURROGATE_PAIR.search(text) is None


# Keys are not checked for encodability by Article: lone surrogates included.
keys = st.one_of(
    st.text(max_size=8),
    st.text(max_size=8).map(Text),
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=2).filter(no_pair),
)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e300, 5e-324, 2.0**64]),
)
scalars = st.one_of(st.text(max_size=10), numbers, st.booleans(), st.none())
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.lists(scalars, max_size=4).map(tuple),
    # Article lets these through (ASCII ones only: it checks the others item by item).
    st.lists(st.text(st.characters(max_codepoint=127), max_size=6).map(Text), max_size=3),
)
extras = st.one_of(
    st.just({}),
    st.dictionaries(keys, values, max_size=4),
    # The common shape: strings and lists of strings only.
    st.dictionaries(st.text(max_size=8), st.one_of(texts, st.lists(texts, max_size=3))),
)
dates = st.one_of(
    st.none(),
    st.dates(),
    st.datetimes(timezones=st.one_of(st.none(), st.just(dt.timezone.utc))),
)


def article_or_none(**fields: Any) -> Article | None:
    try:
        return Article(**fields)
    except ArticleError:  # e.g. a list of str subclasses under a key that is one
        return None


articles = st.builds(
    article_or_none,
    id=ids,
    title=strings,
    body=st.one_of(strings, st.text(max_size=400)),
    date=dates,
    source=st.one_of(st.none(), strings),
    section=st.one_of(st.none(), strings),
    author=st.none(),
    url=st.one_of(st.none(), texts),
    extra=extras,
).filter(lambda a: a is not None)

# The encoders of the versions before orjson: ASCII-escaped, and UTF-8 for blocks whose titles
# or bodies were not ASCII.
OLD_ENCODERS = {
    "ascii": lambda rows: json.dumps(rows).encode("ascii"),
    "utf8": lambda rows: json.dumps(rows, ensure_ascii=False).encode("utf-8"),
}


def store_of(path: Path, blocks: list[bytes]) -> docstore.DocStore:
    """A store (plain zstd frames, checksummed) of the given encoded blocks."""
    blob, sizes = docstore.compress_encoded(blocks)
    path.write_bytes(blob)
    offsets = np.cumsum([0, *sizes], dtype=np.int64)
    crcs = np.array(
        [zlib.crc32(blob[a:b]) for a, b in zip(offsets[:-1], offsets[1:])], dtype=np.uint32
    )
    return docstore.DocStore(path, offsets, crcs)


def read_back(path: Path, blocks: list[bytes]) -> tuple[list[Article], list[list[Any]]]:
    store = store_of(path, blocks)
    try:
        return list(store.iter_articles()), list(store.iter_rows())
    finally:
        store.close()


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(st.lists(articles, min_size=1, max_size=40))
def test_written_articles_read_back_unchanged(tmp_path_factory, written):
    """What the build writes (StoreWriter) and what a merge writes (encode_rows of the rows
    read back) both read back as the articles written; the merge's blocks are the build's."""
    folder = tmp_path_factory.mktemp("rows")
    with docstore.StoreWriter(folder / "a.doc") as writer:
        writer.write(written)
        offsets, crcs, _ = writer.finish()
    store = docstore.DocStore(folder / "a.doc", offsets, crcs)
    try:
        got = list(store.iter_articles())
        rows = list(store.iter_rows())
        assert [as_stored(a) for a in got] == [as_stored(a) for a in written]
        assert [canonical(r) for r in rows] == [as_row(a) for a in written]
        assert [as_stored(store.get(i)) for i in range(len(written))] == [
            as_stored(a) for a in written
        ]
    finally:
        store.close()
    # A merge copies the rows: encoded again, they read back the same.
    got2, rows2 = read_back(folder / "b.doc", docstore.encode_rows(rows))
    assert [as_stored(a) for a in got2] == [as_stored(a) for a in written]
    assert [canonical(r) for r in rows2] == [canonical(r) for r in rows]


@SETTINGS
@given(st.lists(articles, min_size=1, max_size=16), st.sampled_from(sorted(OLD_ENCODERS)))
def test_blocks_written_by_json_read_as_json_reads_them(tmp_path_factory, written, encoder):
    """A block an older version wrote with json (ASCII-escaped or UTF-8, ", " separators)
    reads back as json.loads reads it, and as the articles written: orjson reads ints beyond
    64 bits as floats and refuses NaN, so such blocks must not be taken for orjson's."""
    rows = [docstore._row(a) for a in written]
    try:
        block = OLD_ENCODERS[encoder](rows)
    except UnicodeEncodeError:  # a lone surrogate in a key: json's UTF-8 text is no bytes
        return
    got, got_rows = read_back(tmp_path_factory.mktemp("old") / "a.doc", [block])
    assert [canonical(r) for r in got_rows] == canonical(json.loads(block))
    assert [as_stored(a) for a in got] == [as_stored(a) for a in written]


@SETTINGS
@given(st.lists(articles, min_size=1, max_size=16))
def test_new_blocks_decode_as_json_decodes_them(written):
    """json.loads, the reference decoder, reads every block written now as the store does."""
    rows = [docstore._row(a) for a in written]
    block = docstore.encode_rows(rows)[0]
    assert canonical(docstore._loads(block)) == canonical(json.loads(block))
    assert canonical(json.loads(block)) == [as_row(a) for a in written]


def test_old_and_new_blocks_mixed_read_back(tmp_path):
    """One store (and so one index, old segments beside new ones) may hold blocks of every
    kind: json's of older versions, orjson's, and json's where orjson would not do."""
    written = [
        Article("plain", "Title", "body", extra={"topics": ["a", "b"], "n": 3}),
        Article("ünï", "Zürich", "Grüße"),
        Article("big", "t", "b", extra={"n": 2**70, "x": [math.inf, 1.5], "neg": -(2**63) - 1}),
        Article('q"uo\\te', "t", "b", extra={"nan": math.nan, Text("k"): "v"}),
        Article("top", "t", "b", extra={"top": [2**64], "\ud800": "lone"}),
    ]
    rows = [docstore._row(a) for a in written]
    blocks = [
        OLD_ENCODERS["ascii"](rows[0:3]),
        *docstore.encode_rows(rows[0:2]),
        OLD_ENCODERS["ascii"](rows[3:5]),
        OLD_ENCODERS["utf8"](rows[1:4]),
        *docstore.encode_rows(rows[2:5]),
    ]
    assert [docstore._compact(b) for b in blocks] == [False, True, False, False, False]
    got, _ = read_back(tmp_path / "a.doc", blocks)
    e = [as_stored(a) for a in written]
    assert [as_stored(a) for a in got] == e[0:3] + e[0:2] + e[3:5] + e[1:4] + e[2:5]


@pytest.mark.parametrize("encoder", sorted(OLD_ENCODERS))
@pytest.mark.parametrize("id_", ['a",', 'a\\",', '"', "\\", 'a","b', "ü", "x" * 512])
def test_json_blocks_are_told_from_orjson_blocks_whatever_the_id(tmp_path, encoder, id_):
    """Blocks are told apart by what follows the first row's id: an id that ends as orjson's
    would (``",``) must not pass a json block, and its ints beyond 64 bits, for orjson's."""
    article = Article(id_, "t", "b", extra={"n": 2**70, "m": [-(2**64)]})
    rows = [docstore._row(article)]
    old, new = OLD_ENCODERS[encoder](rows), docstore.encode_rows(rows)[0]
    assert not docstore._compact(old) and not docstore._compact(new)  # both json's
    got, _ = read_back(tmp_path / "a.doc", [old, new])
    assert [as_stored(a) for a in got] == [as_stored(article)] * 2
    plain = docstore.encode_rows([docstore._row(Article(id_, "t", "b", extra={"n": 2**63}))])
    # orjson's, taken for orjson's unless the id's quote or backslash leaves it unknown
    assert docstore._compact(plain[0]) == ('"' not in id_ and not id_.endswith("\\"))
    assert as_stored(read_back(tmp_path / "b.doc", plain)[0][0]) == as_stored(
        Article(id_, "t", "b", extra={"n": 2**63})
    )


@pytest.mark.parametrize(
    "text",
    [
        b'[["1","t","b",null,null,null,null,null,null]',  # cut short
        b'[["1","t","b",null,null,null,null,null,NaN]]x',
        b'[["1","t","b",null,null,null,null,null,{"k":1e999}]]]',
        b'[["\xff","t","b",null,null,null,null,null,null]]',  # not UTF-8
        b'[["1", "t", "b", null, null, null, null, null, {"k": 1',
        b"{}",
        b"[]",
        b"",
        b"\x00\x01",
    ],
)
def test_a_malformed_block_is_corrupt(tmp_path, text):
    store = store_of(tmp_path / "a.doc", [text])
    try:
        with pytest.raises(IndexCorruptError, match="block 0"):
            store.get(0)
    finally:
        store.close()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80) | st.text(max_size=80).map(str.encode))
def test_any_block_is_an_article_or_corrupt(tmp_path_factory, text):
    """Whatever a block's bytes (under a valid checksum), reading it gives articles or an
    IndexCorruptError, never another exception."""
    store = store_of(tmp_path_factory.mktemp("any") / "a.doc", [text])
    try:
        try:
            store.get(0)
        except IndexCorruptError:
            pass
    finally:
        store.close()


@pytest.mark.parametrize("key", ["\ud800\udc00", "a\udbff\udfffb"])
def test_a_key_with_a_surrogate_pair_is_refused_naming_the_article(tmp_path, key):
    """json writes the two code points as two escapes, which read back as one character: the
    store refuses the row, naming the article, rather than change the key."""
    article = Article("art-1", "t", "b", extra={key: "v"})
    with pytest.raises(ArticleError, match="'art-1'.*surrogate pair"):
        with docstore.StoreWriter(tmp_path / "a.doc") as writer:
            writer.write([article])
            writer.finish()
    # A lone one is stored as it is.
    lone = Article("art-2", "t", "b", extra={"\ud800": "v", "x\udc00": "w"})
    assert as_stored(
        read_back(tmp_path / "b.doc", docstore.encode_rows([docstore._row(lone)]))[0][0]
    ) == as_stored(lone)


def test_a_refused_row_fails_the_commit_and_leaves_the_index_as_it_was(tmp_path):
    """The refusal comes from the store's thread: the commit raises it, writes nothing."""
    import newsindex

    ix = newsindex.Index.create(tmp_path / "ix")
    try:
        with ix.writer() as w:
            w.add({"id": "kept", "title": "hello"})
        files = sorted(p.name for p in (tmp_path / "ix").iterdir())
        with pytest.raises(ArticleError, match="'bad'"):
            with ix.writer() as w:
                w.add({"id": "good", "title": "hello"})
                w.add({"id": "bad", "title": "hello", "extra": {"\ud800\udc00": "v"}})
        assert sorted(p.name for p in (tmp_path / "ix").iterdir()) == files
        assert [h.id for h in ix.search("hello").hits] == ["kept"]
    finally:
        ix.close()
