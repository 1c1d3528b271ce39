import datetime as dt

import pytest

from newsindex import Article, ArticleError


def test_from_dict_parses_iso_dates_and_fills_defaults():
    a = Article.from_dict({"id": "1", "title": "T", "date": "2016-11-09"})
    assert a.date == dt.date(2016, 11, 9)
    assert a.body == "" and a.source is None and a.extra == {}
    b = Article.from_dict({"id": 7, "date": "1987-02-26T15:01:01.790"})
    assert b.id == "7" and b.day == dt.date(1987, 2, 26)


@pytest.mark.parametrize(
    "data, field, words",
    [
        ({"title": "x"}, "id", "missing required field 'id'"),
        ({"id": ""}, "id", "must not be empty"),
        ({"id": "1", "title": 5}, "title", "must be a string, got int"),
        ({"id": "1", "date": "2016-13-40"}, "date", "not an ISO 8601 date"),
        ({"id": "1", "tittle": "typo"}, "tittle", "unknown field(s) tittle"),
        ({"id": "1", "extra": {"k": {"nested": 1}}}, "extra.k", "must be a string, number or list"),
        ({"id": ["1"]}, "id", "must be a string, got list"),
        ({"id": "1", "extra": {"tags": ["a", {"b": 1}]}}, "extra.tags", "must be a string, number"),
        ({"id": "1", "extra": {"tags": ["ok", "bad\ud800"]}}, "extra.tags", "not valid Unicode"),
        ({"id": "1", "extra": {"k": "bad\udfff"}}, "extra.k", "not valid Unicode"),
        ({"id": "1", "extra": {3: "x"}}, "extra", "non-string key 3"),
        ({"id": "1", "body": "caf\u00e9 \ud800"}, "body", "not valid Unicode"),
        ({"id": "1", "url": 3.5}, "url", "must be a string, got float"),
    ],
)
def test_invalid_articles_name_the_field(data, field, words):
    with pytest.raises(ArticleError) as err:
        Article.from_dict(data)
    assert err.value.field == field
    assert words in str(err.value)


def test_extra_accepts_strings_numbers_and_lists_of_them():
    extra = {
        "tags": ["Türkiye", "a"],
        "mixed": ["a", 1, 2.5, None, True],
        "t": ("x", 1),
        "n": 3,
        "f": 0.5,
        "b": False,
        "none": None,
        "empty": [],
        "s": "café",
    }
    assert dict(Article.from_dict({"id": "1", "extra": extra}).extra) == extra


def test_missing_text_fields_become_empty_strings():
    a = Article(id="1", title=None, body=None)
    assert a.title == "" and a.body == ""


def test_to_dict_round_trips():
    a = Article.from_dict(
        {
            "id": "x",
            "title": "t",
            "body": "b",
            "date": "2016-11-09T10:30:00",
            "source": "S",
            "section": "World",
            "author": "A",
            "url": "http://u",
            "extra": {"tags": ["a", "b"]},
        }
    )
    assert Article.from_dict(a.to_dict()) == a


def test_from_dict_builds_what_the_constructor_builds(sample_docs):
    # from_dict fills the slots itself (the dataclass __init__ is slow); it must agree.
    for d in sample_docs:
        a = Article.from_dict(d)
        assert a == Article(**{**d, "date": a.date, "extra": d.get("extra") or {}})
    a = Article.from_dict({"id": "1", "title": None, "body": None, "url": "u"})
    assert (a.title, a.body, a.url, a.source, a.extra) == ("", "", "u", None, {})
    with pytest.raises(AttributeError):
        a.title = "changed"  # still frozen
