"""A small segment's vocabulary read whole into dicts (index/segment.py, ``_Vocabulary``)
answers every lookup exactly as the tables as written do, and searches give the same."""

from __future__ import annotations

import pytest

import newsindex
from newsindex.index import segment as segment_module


class _Vocabulary:
    """Segments opened inside it read their vocabulary whole on the first lookup (``on``) or
    never (off: the tables' own lookups answer)."""

    def __init__(self, on: bool):
        self.on = on

    def __enter__(self):
        self.old = segment_module.READ_AT_ONCE, segment_module.WHOLE_VOCABULARY
        size = 1 << 40 if self.on else 0
        segment_module.READ_AT_ONCE = segment_module.WHOLE_VOCABULARY = size

    def __exit__(self, *exc):
        segment_module.READ_AT_ONCE, segment_module.WHOLE_VOCABULARY = self.old


@pytest.fixture(scope="module")
def folder(tmp_path_factory, sample_docs):
    """The sample in three segments (one writer each), so words are missing from some."""
    path = tmp_path_factory.mktemp("vocab") / "idx"
    ix = newsindex.Index.create(path)
    n = len(sample_docs)
    for a, b in [(0, n // 7), (n // 7, n // 2), (n // 2, n)]:
        with ix.writer() as w:
            for d in sample_docs[a:b]:
                w.add(d)
    ix.close()
    return path


def _open(folder, on: bool) -> newsindex.Index:
    with _Vocabulary(on):
        ix = newsindex.Index.open(folder)
        assert ix._snap.searcher.segments  # (made inside the block)
    return ix


def _probes(segments) -> tuple[list[str], list[str]]:
    """Every term and stemmer input of every segment, and near misses of some of them."""
    terms, inputs = set(), set()
    for seg in segments:
        terms.update(seg.terms.strings())
        for _, table, _ in seg._stems.values():
            inputs.update(table.strings())
    near = [w + "x" for w in sorted(terms)[::7]] + [w[:-1] for w in sorted(inputs)[::7]]
    odd = ["", "\x00", "é", "zzzzzzzzzzzz", "a" * 40]
    return sorted(terms) + near + odd, sorted(inputs) + near + odd


def test_whole_vocabulary_answers_every_lookup_as_the_tables_do(folder):
    off, on = _open(folder, False), _open(folder, True)
    segs_off, segs_on = off._snap.searcher.segments, on._snap.searcher.segments
    assert len(segs_off) == 3
    terms, inputs = _probes(segs_off)
    for a, b in zip(segs_off, segs_on):
        assert [a.term_range(t) for t in terms] == [b.term_range(t) for t in terms]
        assert [a.term_id(t) for t in terms] == [b.term_id(t) for t in terms]
        for field, (spec, _, _) in a._stems.items():
            want = [a.stem_of(field, spec, w) for w in inputs]
            assert [b.stem_of(field, spec, w) for w in inputs] == want
            assert any(want) and not all(want)
        assert a._vocabulary is None and b._vocabulary is not None
    off.close()
    on.close()


def test_searches_are_the_same_with_the_vocabulary_read_whole(folder, sample_docs):
    off, on = _open(folder, False), _open(folder, True)
    asked = [(d["title"], "plain") for d in sample_docs[::97]] + [
        (q, "query")
        for q in ["oil prices", '"crude oil" -opec', "bank* rate", "title:oil gas", "zzqx said"]
    ]
    for q, syntax in asked:
        a = off.search(q, syntax=syntax, limit=20)
        b = on.search(q, syntax=syntax, limit=20)
        assert [(h.id, h.score) for h in a] == [(h.id, h.score) for h in b], q
        assert a.total == b.total
    off.close()
    on.close()


def test_a_segment_reads_its_vocabulary_once_its_lookups_pay_for_it(folder, monkeypatch):
    """Past READ_AT_ONCE, the tables answer until the lookups add up to a sixteenth of the
    entries; then the dicts do."""
    monkeypatch.setattr(segment_module, "READ_AT_ONCE", 0)
    ix = newsindex.Index.open(folder)
    seg = ix._snap.searcher.segments[-1]
    terms = seg.terms.strings()
    need = seg._read_after
    assert 1 < need < len(terms)
    for t in terms[: need - 1]:
        seg.term_range(t)
    assert seg._vocabulary is None
    seg.term_range(terms[need - 1])
    assert seg._vocabulary is not None
    assert [seg.term_range(t) for t in terms[need:]] == [seg._look_up(t)[1:] for t in terms[need:]]
    ix.close()


def test_an_index_stems_a_word_as_the_first_segment_holding_it(folder):
    """An analyzer's lexicon (``stem_lookup``: each segment's table matched to the analyzer
    once) answers every word as asking each segment in turn does; tables made by another
    analyzer answer nothing."""
    import json

    from newsindex.index.segment import stem_lookup
    from newsindex.schema import TEXT_FIELDS

    for on in (False, True):
        ix = _open(folder, on)
        snap = ix._current()
        segs = snap.searcher.segments
        _, inputs = _probes(segs)
        for field in TEXT_FIELDS:
            spec = json.loads(json.dumps(snap.analyzers[field].spec.to_dict()))

            def first(word: str, spec: dict = spec, field: str = field, segs=segs) -> str | None:
                found = (seg.stem_of(field, spec, word) for seg in segs)
                return next((t for t in found if t is not None), None)

            want = [first(w) for w in inputs]
            assert any(want) and not all(want)
            assert [snap.analyzers[field].lexicon(w) for w in inputs] == want
            assert [stem_lookup(segs[::-1], field, spec)(w) for w in inputs] == want
            other = dict(spec, stemmer="porter")
            assert not any(map(stem_lookup(segs, field, other), inputs))
            assert [stem_lookup(segs[:1], field, spec)(w) for w in inputs] == [
                segs[0].stem_of(field, spec, w) for w in inputs
            ]
        ix.close()


def test_an_index_gives_its_known_stems_as_its_lexicon_answers(folder, sample_docs):
    """``known_stems`` (what an analyzer learns at its first new word) holds every word the
    lexicon knows, with the lexicon's stem, once every segment holds its vocabulary whole;
    nothing before that. Searches are the same whether the analyzers learned or not."""
    import json

    from newsindex.index.segment import known_stems
    from newsindex.schema import TEXT_FIELDS

    on, off = _open(folder, True), _open(folder, False)
    for ix, whole in ((on, True), (off, False)):
        snap = ix._current()
        segs = snap.searcher.segments
        _, inputs = _probes(segs)
        for field in TEXT_FIELDS:
            spec = json.loads(json.dumps(snap.analyzers[field].spec.to_dict()))
            tables = known_stems(segs, field, spec)()
            if not whole:
                assert tables is None
                continue
            assert [name for name, _ in tables] == [seg.name for seg in segs]
            first: dict[str, str] = {}
            for _, table in tables:
                first.update((w, t) for w, t in table.items() if w not in first)
            lexicon = snap.analyzers[field].lexicon
            assert {w: t for w in inputs if (t := lexicon(w)) is not None} == first
            assert known_stems(segs, field, dict(spec, stemmer="porter"))() == []
    asked = [d["title"] for d in sample_docs[::61]] + [d["body"][:300] for d in sample_docs[::89]]
    plain = _open(folder, True)
    for analyzer in plain._current().analyzers.values():
        analyzer.known_stems = None
    for q in asked:
        a, b = on.search(q, syntax="plain", limit=10), plain.search(q, syntax="plain", limit=10)
        assert [(h.id, h.score) for h in a] == [(h.id, h.score) for h in b], q
    body = on._current().analyzers["body"]
    assert body.known_stems is None and len(body._cache) > len(
        plain._current().analyzers["body"]._cache
    )
    for ix in (on, off, plain):
        ix.close()


def test_a_refresh_learns_only_the_new_segments_tables(tmp_path, sample_docs):
    """The token cache outlives snapshots, so after a commit an analyzer learns the stem
    tables of the segments it has not met, not the whole index again."""
    with _Vocabulary(True):
        ix = newsindex.Index.create(tmp_path / "idx")
        for part in (sample_docs[:40], sample_docs[40:80]):
            with ix.writer() as w:
                for d in part:
                    w.add(d)
        ix.refresh()
        ix.search("zzqx oil", syntax="plain")
        body = ix._current().analyzers["body"]
        first = {seg.name for seg in ix._current().searcher.segments}
        assert body._learned == first and len(first) == 2
        with ix.writer() as w:
            for d in sample_docs[80:120]:
                w.add(d)
        ix.refresh()
        segs = ix._current().searcher.segments
        new = {seg.name for seg in segs} - first
        assert len(new) == 1
        body = ix._current().analyzers["body"]
        assert body.known_stems is not None  # nothing learned until a new word comes
        ix.search("zzqy oil", syntax="plain")
        assert body._learned == first | new
        (table,) = [
            seg.stem_table("body", seg._stems["body"][0]) for seg in segs if seg.name in new
        ]
        assert all(w in body._cache for w in table if w.isalpha() and w.isascii() and len(w) > 3)
        ix.close()
