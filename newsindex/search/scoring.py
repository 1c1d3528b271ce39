"""Explanations of scores (the BM25F math itself is :mod:`newsindex.bm25f`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Explanation:
    """A score and how it was made: a node with ``details`` has the sum (``op="sum"``) or the
    product (``op="product"``, its description says so) of their values as its ``value``;
    a node without details is a figure with what it is."""

    value: float
    description: str
    details: list[Explanation] = field(default_factory=list)
    op: str = "sum"

    def __str__(self) -> str:
        return "\n".join(self._lines(0))

    def _lines(self, depth: int) -> Iterator[str]:
        yield f"{'  ' * depth}{self.value:.6f}  {self.description}"
        for d in self.details:
            yield from d._lines(depth + 1)

    def to_dict(self) -> dict:
        return {
            "value": self.value,
            "description": self.description,
            "details": [d.to_dict() for d in self.details],
            "op": self.op,
        }
