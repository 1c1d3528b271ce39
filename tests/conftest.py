import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

import newsindex

# Property tests must not depend on how busy the machine is: CI and a loaded laptop run the
# same examples to the same verdict. Hypothesis's per-example deadline and its too-slow health
# check are both wall-clock judgements, so they are off for every test (a test's own @settings
# inherits this profile for whatever it leaves unset).
settings.register_profile("newsindex", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("newsindex")

SAMPLE = Path(newsindex.__file__).parent / "data" / "reuters-sample.jsonl.gz"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def load_sample(limit: int | None = None) -> list[dict]:
    docs = []
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        for line in fh:
            docs.append(json.loads(line))
            if limit and len(docs) >= limit:
                break
    return docs


@pytest.fixture(scope="session")
def sample_docs() -> list[dict]:
    return load_sample()


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory, sample_docs):
    """The bundled sample indexed once per session (read-only for tests)."""
    ix = newsindex.Index.create(tmp_path_factory.mktemp("sample") / "idx")
    with ix.writer() as w:
        for d in sample_docs:
            w.add(d)
    return ix
