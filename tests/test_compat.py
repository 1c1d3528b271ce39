"""Indexes written by older formats still open and give exactly the answers they gave then."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import newsindex

COMPAT = Path(__file__).parent / "data" / "compat"
FIXTURES = sorted(p.name for p in COMPAT.iterdir() if (p / "answers.json").is_file())


def _copy(name: str, tmp_path: Path) -> tuple[Path, dict]:
    """The fixture's index in a scratch folder (opening a writer must not touch the repo)."""
    folder = tmp_path / name
    shutil.copytree(COMPAT / name / "index", folder)
    return folder, json.loads((COMPAT / name / "answers.json").read_text(encoding="utf-8"))


def _facets(facets: dict, ties_in_any_order: bool) -> dict:
    facets = json.loads(json.dumps(facets))
    if ties_in_any_order:  # equal counts are listed in the order segments met the values
        for key in ("sources", "sections", "authors"):
            facets[key] = sorted(facets[key], key=lambda vc: (-vc[1], vc[0]))
    return facets


def assert_same_answers(ix: newsindex.Index, expected: dict, merged: bool = False) -> None:
    assert ix.doc_count == expected["doc_count"]
    for q in expected["queries"]:
        res = ix.search(q["query"], limit=20, sort=q["sort"], facets=True)
        where = f"{q['query']!r} sorted by {q['sort']}"
        assert res.total == q["total"], where
        assert [[h.id, h.date_day] for h in res.hits] == [[i, d] for i, _, d in q["hits"]], where
        for hit, (_, score, _) in zip(res.hits, q["hits"]):
            assert hit.score == pytest.approx(score, rel=0, abs=1e-9), where
        assert _facets(res.facets.to_dict(), merged) == _facets(q["facets"], merged), where
    for article_id, stored in expected["articles"].items():
        got = ix.get(article_id)
        assert (got.to_dict() if got is not None else None) == stored, article_id


def test_there_is_a_fixture():
    assert "format-1" in FIXTURES


@pytest.mark.parametrize("name", FIXTURES)
def test_old_index_answers_the_same(name, tmp_path):
    folder, expected = _copy(name, tmp_path)
    assert expected["check"] == []
    with newsindex.Index.open(folder) as ix:
        assert ix.generation == expected["generation"]
        assert ix.check() == []
        assert_same_answers(ix, expected)


@pytest.mark.parametrize("name", FIXTURES)
def test_old_index_merges_to_the_same_answers(name, tmp_path):
    """The current writer reads old segments to merge them: the answers stay the same."""
    folder, expected = _copy(name, tmp_path)
    with newsindex.Index.open(folder) as ix:
        before = ix.stats()["segments"]
        ix.optimize()
        assert before > 1 and ix.stats()["segments"] == 1
        assert ix.check() == []
        assert_same_answers(ix, expected, merged=True)
