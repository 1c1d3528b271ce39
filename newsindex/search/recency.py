"""Recency: relevance times an exponential freshness decay.

As Elasticsearch's ``function_score`` with an ``exp`` decay on the date and
``boost_mode: multiply``: a story's score is its relevance times
``0.5 ** (age / half_life)``, its age in days counted back from ``today``, so a story one
half-life old keeps half its score and a fresher one needs less relevance to outrank it.

- A story dated after ``today`` (an embargo, a wrong date) has age 0: factor 1.
- An undated story is neutral: factor 1, its relevance unchanged (as Elasticsearch's decay
  functions give 1 to a document without the field), so recency never hides it.
- A very old story with a short half-life can decay to a score of 0.0 (below the smallest
  double); such ties are ordered as equal scores always are (newer first).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..index.segment import Segment
from ..querylang.planner import half_life_days
from ..schema import NO_DATE, day_from_number, day_number
from .matches import SegmentMatches
from .scoring import Explanation


@dataclass(frozen=True)
class Recency:
    """A half-life (days) and the day ages are counted from."""

    half_life: float
    today: int

    @classmethod
    def of(cls, value: object, today: _dt.date | None) -> Recency:
        return cls(half_life_days(value), day_number(today or _dt.date.today()))

    def factors(self, days: np.ndarray) -> np.ndarray:
        """The decay factor of each day number (1 for NO_DATE and for days after today)."""
        wide = days.astype(np.int64)
        age = np.maximum(self.today - wide, 0).astype(np.float64)
        found = np.exp2(-age / self.half_life)
        found[wide == NO_DATE] = 1.0
        return found

    def apply(
        self, matches: Iterable[tuple[int, SegmentMatches]], segments: Sequence[Segment]
    ) -> Iterator[tuple[int, SegmentMatches]]:
        """``matches`` with each score multiplied by its story's factor."""
        for si, m in matches:
            if len(m.docs):
                m = SegmentMatches(m.docs, m.scores * self.factors(segments[si].dates.take(m.docs)))
            yield si, m

    def explain(self, relevance: Explanation, day: int, label: str = "") -> Explanation:
        """The labelled product of ``relevance`` and the story's factor (what apply did)."""
        factor = float(self.factors(np.array([day], dtype=np.int64))[0])
        if day == NO_DATE:
            why = "recency: undated, neutral factor 1"
        else:
            age = max(self.today - day, 0)
            why = (
                f"recency: 0.5^(age {age} d / half-life {self.half_life:g} d), "
                f"today {day_from_number(self.today)}"
            )
        value = float(relevance.value * factor)
        return Explanation(
            value,
            f"{label}product of relevance and recency:",
            [relevance, Explanation(factor, why)],
            op="product",
        )
