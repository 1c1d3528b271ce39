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
