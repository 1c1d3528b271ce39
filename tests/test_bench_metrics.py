"""benchmarks.metrics against values worked out by hand."""

import math
import sys
from pathlib import Path

# The harness lives in benchmarks/ at the repository root; make it importable under plain
# `pytest` too (python -m pytest puts the working directory on sys.path, pytest does not).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytest

from benchmarks.metrics import (
    average_precision,
    dcg,
    evaluate,
    ndcg_at,
    overlap_at,
    read_run,
    recall_at,
    write_run,
)

# One query: d1 (gain 3) at rank 1, d3 (gain 2) at rank 3; d5 (gain 1) never retrieved;
# d6 judged non-relevant; d2, d4 unjudged.
RANKED = ["d1", "d2", "d3", "d4"]
JUDGED = {"d1": 3, "d3": 2, "d5": 1, "d6": 0}


def test_dcg_by_hand():
    # 3/log2(2) + 0/log2(3) + 2/log2(4) + 0/log2(5) = 3 + 0 + 1 + 0
    assert dcg([3, 0, 2, 0]) == pytest.approx(4.0)


def test_ndcg_by_hand():
    # DCG@4 = 4 (above). Ideal order 3, 2, 1: 3 + 2/log2(3) + 1/log2(4) = 3 + 1.26186 + 0.5 = 4.76186.
    assert ndcg_at(RANKED, JUDGED, 4) == pytest.approx(4.0 / 4.761860, abs=1e-5)  # 0.84001
    # @1: d1 is the ideal first document.
    assert ndcg_at(RANKED, JUDGED, 1) == pytest.approx(1.0)
    # @2: DCG = 3; ideal = 3 + 2/log2(3) = 4.26186.
    assert ndcg_at(RANKED, JUDGED, 2) == pytest.approx(3 / 4.261860, abs=1e-5)  # 0.70392


def test_ndcg_linear_gain_not_exponential():
    # Exponential gain (2^g - 1) would give (7 + 0) / (7 + 3/log2(3)) here; linear gives 3 / (3 + 2/log2(3)).
    assert ndcg_at(["a", "b"], {"a": 3, "b": 0, "c": 2}, 2) == pytest.approx(
        3 / (3 + 2 / math.log2(3))
    )


def test_average_precision_by_hand():
    # Relevant = {d1, d3, d5}. Precision at d1 = 1/1, at d3 = 2/3; d5 missing counts 0.
    assert average_precision(RANKED, JUDGED) == pytest.approx((1 + 2 / 3) / 3)  # 0.55556


def test_average_precision_duplicates_count_once():
    assert average_precision(["d1", "d1", "d3"], {"d1": 1, "d3": 1}) == pytest.approx(
        (1 + 2 / 3) / 2
    )


def test_recall_by_hand():
    assert recall_at(RANKED, JUDGED, 2) == pytest.approx(1 / 3)
    assert recall_at(RANKED, JUDGED, 4) == pytest.approx(2 / 3)
    assert recall_at(RANKED, JUDGED, 100) == pytest.approx(2 / 3)


def test_no_relevant_and_empty_run():
    assert ndcg_at(RANKED, {"d1": 0}, 10) == 0.0
    assert average_precision(RANKED, {}) == 0.0
    assert recall_at([], JUDGED, 10) == 0.0
    assert ndcg_at([], JUDGED, 10) == 0.0


def test_evaluate_means_over_judged_queries():
    qrels = {"q1": JUDGED, "q2": {"x": 1}, "q3": {"y": 0}}  # q3 has no relevant doc: left out
    run = {"q1": RANKED}  # q2 missing from the run: scores 0 but still counts
    res = evaluate(run, qrels, ndcg_k=4, recall_k=4)
    assert res["queries"] == 2
    assert res["ndcg@4"] == pytest.approx((4.0 / 4.761860) / 2, abs=1e-5)
    assert res["map"] == pytest.approx((5 / 9) / 2)
    assert res["recall@4"] == pytest.approx((2 / 3) / 2)


def test_trec_run_roundtrip(tmp_path):
    run = {"1": ["b", "a", "c"], "2": ["z"]}
    path = write_run(run, tmp_path / "r.trec", "tag")
    lines = path.read_text().splitlines()
    assert lines[0] == "1 Q0 b 1 3 tag"
    assert read_run(path) == run


def test_overlap():
    assert overlap_at(["a", "b", "c"], ["c", "d"], 10) == pytest.approx(1 / 3)
    assert overlap_at([], [], 10) is None
