"""Did-you-mean: unknown fields in query errors, keyword values no article has in Results.hints."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsindex
from newsindex import QUERY_FIELDS, QuerySyntaxError
from newsindex.schema import keyword_keys, normalize_keyword

FIELDS = ("source", "section", "author")


@pytest.fixture(scope="module")
def values(sample_index):
    facets = sample_index.facets()
    return {"source": facets.sources, "section": facets.sections, "author": facets.authors}


def _typos(word: str) -> list[str]:
    """One letter dropped or two neighbours swapped: the commonest slips."""
    dropped = [word[:i] + word[i + 1 :] for i in range(len(word))]
    swapped = [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)]
    return [t for t in dropped + swapped if t != word]


@pytest.mark.parametrize("field", [f for f in QUERY_FIELDS if len(f) >= 4])
def test_a_mistyped_field_name_is_named_in_the_error(sample_index, field):
    for typo in _typos(field):
        if typo in QUERY_FIELDS:
            continue
        with pytest.raises(QuerySyntaxError) as err:
            sample_index.parse(f"{typo}:oil")
        assert f"did you mean '{field}:'?" in err.value.message, typo


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_mistyped_value_suggests_the_value_it_came_from(sample_index, values, data):
    field = data.draw(st.sampled_from(FIELDS))
    value, _ = data.draw(st.sampled_from(values[field]))
    key = normalize_keyword(value)
    typos = [t for t in _typos(key) if len(key) >= 5]
    if not typos:
        return
    typo = data.draw(st.sampled_from(typos))
    known = {k for v, _ in values[field] for k in keyword_keys(v, field)}
    res = sample_index.search(f"{field}:{typo}")
    if typo in known:  # the slip made another real value: a plain answer, no hint
        assert res.total and res.hints == []
        return
    assert res.total == 0 and len(res.hints) == 1
    hint = res.hints[0]
    assert hint.startswith(f"no {field} is '{typo}'")
    suggested = [s.split(":", 1)[1] for s in hint.split("did you mean ", 1)[1][:-1].split(", ")]
    # Each suggestion is a real value, typed as a query would, and finds articles.
    assert all(sample_index.count(f"{field}:{s}") for s in suggested)
    assert any(normalize_keyword(s) == key for s in suggested), (typo, hint)


@pytest.mark.parametrize(
    "query",
    ["section:crude oil", "section:nosuchthing OR oil", "oil -source:nosuchthing", "zzzzqqq"],
)
def test_no_hint_when_every_required_value_exists(sample_index, query):
    assert sample_index.search(query).hints == []


def test_hints_reach_the_cli_and_the_shell(sample_index, tmp_path):
    import subprocess
    import sys

    folder = sample_index.path
    cli = subprocess.run(
        [sys.executable, "-m", "newsindex", "search", str(folder), "section:crud"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert cli.stdout.startswith("0 matching articles")
    assert "newsindex: no section is 'crud'; did you mean section:crude" in cli.stderr
    shell = subprocess.run(
        [sys.executable, "-m", "newsindex", "shell", str(folder)],
        input="section:crud\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert "no section is 'crud'; did you mean section:crude" in shell.stdout
    assert newsindex.Index.open(folder).search("section:crud").hints[0].startswith("no section")
