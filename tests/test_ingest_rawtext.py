"""Scraped news pages: the seed article field by field, then variants of it written to tmp_path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from newsindex.ingest import (
    IngestError,
    Record,
    iter_records,
    normalize_source,
    parse_raw_page,
    raw_id,
)
from newsindex.ingest.rawtext import _section_name

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_bd656d18b2dd3dcd.txt"
TITLE = "Battle for strategic district in Aleppo continues"
STANDFIRST = (
    "Syrian regime forces and rebels are fighting over control for the strategically-located "
    "1070 Apartments district in Aleppo, which lies alongside the regime's corridor into the "
    "parts of the city that it controls."
)
CAPTION = (
    "Russian-backed regime forces are making a push to control major areas in eastern Aleppo, "
    "but rebels are not backing down in the fight for control. / TRT World and Agencies"
)


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def expected_body() -> str:
    """The body paragraphs, read from the file independently of the parser: the non-blank lines
    between the dateline and the SOURCE line."""
    lines = seed_text().split("\n")
    start = lines.index("November 9, 2016") + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("SOURCE:"))
    return "\n\n".join(line for line in lines[start:end] if line.strip())


def boilerplate_lines() -> list[str]:
    lines = seed_text().split("\n")
    start = lines.index("Explore")
    return [line for line in lines[start:] if line.strip()]


def read_one(path: Path) -> Record:
    records = list(iter_records(path))
    assert len(records) == 1
    return records[0]


def write(tmp_path: Path, text: str | bytes, name: str = "page.txt") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8", newline="")
    else:
        path.write_bytes(text)
    return path


def test_seed_every_field():
    record = read_one(SEED)
    article = record.article
    assert record.path == str(SEED) and record.line == 1
    assert article.id == "raw-579a08eb4b10fa17"  # pinned: ids must not change between releases
    assert article.id == raw_id("TRT World", dt.date(2016, 11, 9), TITLE)
    assert article.date == dt.date(2016, 11, 9) and type(article.date) is dt.date
    assert article.section == "World"
    assert article.title == TITLE
    assert article.author == "Staff Reporter"
    assert article.source == "TRT World"
    assert article.url is None
    assert article.body.startswith("Syrian regime forces are claiming")
    assert article.body.endswith("speaking on condition of anonymity.")
    assert article.body == expected_body()
    assert dict(article.extra) == {
        "standfirst": STANDFIRST,
        "caption": CAPTION,
        "source_raw": "TRTWorld and agencies",
    }


def test_seed_body_has_no_boilerplate():
    body = parse_raw_page(seed_text()).body
    assert "SOURCE" not in body
    for line in boilerplate_lines():
        assert line not in body, line
    assert TITLE not in body and STANDFIRST not in body and "Staff Reporter" not in body


def test_no_header_takes_the_date_from_the_dateline(tmp_path):
    text = seed_text().split("\n", 1)[1]
    article = read_one(write(tmp_path, text)).article
    assert article.date == dt.date(2016, 11, 9)
    assert article.section is None
    assert article.title == TITLE and article.body == expected_body()
    assert article.id == parse_raw_page(seed_text()).id  # same source, day and headline


def test_other_section_and_header_date_wins(tmp_path):
    text = seed_text().replace(" date 2016-11-09 WORLD", " date 2017-03-01 MIDDLE EAST", 1)
    article = read_one(write(tmp_path, text)).article
    assert article.section == "Middle East"
    assert article.date == dt.date(2017, 3, 1)
    assert article.id != parse_raw_page(seed_text()).id


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("WORLD", "World"),
        ("SCI-TECH", "Sci-Tech"),
        ("US AND CANADA", "US and Canada"),
        ("Business", "Business"),
        ("", None),
    ],
)
def test_section_names(raw, expected):
    assert _section_name(raw) == expected


def test_no_source_line_stops_at_explore(tmp_path):
    text = seed_text().replace("SOURCE:TRTWorld and agencies\n", "")
    article = read_one(write(tmp_path, text)).article
    assert article.source is None
    assert article.body == expected_body()
    assert "source_raw" not in article.extra


@pytest.mark.parametrize(
    "marker", ["Contact us", "Sneak a peek at TRT Global. Share your feedback!"]
)
def test_no_source_no_explore_stops_at_other_markers(tmp_path, marker):
    lines = seed_text().split("\n")
    cut = next(i for i, line in enumerate(lines) if line.startswith("SOURCE:"))
    text = "\n".join(lines[:cut] + [marker, "Some unrelated headline", "By Somebody Else"])
    article = read_one(write(tmp_path, text)).article
    assert article.body == expected_body()
    assert "unrelated" not in article.body and "Somebody" not in article.body


def test_windows_line_endings_and_bom_give_the_same_article(tmp_path):
    seed = parse_raw_page(seed_text())
    crlf = write(tmp_path, seed_text().replace("\n", "\r\n").encode("utf-8"), "crlf.txt")
    bom = write(tmp_path, b"\xef\xbb\xbf" + seed_text().encode("utf-8"), "bom.txt")
    old_mac = write(tmp_path, seed_text().replace("\n", "\r").encode("utf-8"), "cr.txt")
    for path in (crlf, bom, old_mac):
        assert read_one(path).article == seed, path.name


def test_cp1252_page_is_decoded(tmp_path):
    text = (
        " date 2024-07-21 WORLD\n\u201cIt came out of nowhere\u201d: T\u00fcrkiye floods\n"
        "By Fatima Munir\n\nRescuers said the water rose in minutes \u2013 \u20ac2m of damage.\n"
    )
    article = read_one(write(tmp_path, text.encode("cp1252"))).article
    assert article.title == "\u201cIt came out of nowhere\u201d: T\u00fcrkiye floods"
    assert article.body == "Rescuers said the water rose in minutes \u2013 \u20ac2m of damage."
    assert article.author == "Fatima Munir"


def test_stray_cp1252_byte_in_utf8_page_keeps_the_utf8(tmp_path):
    data = (
        seed_text().encode("utf-8").replace(b"the regime's corridor", b"the regime\x92s corridor")
    )
    article = read_one(write(tmp_path, data)).article
    assert "the regime\u2019s corridor" in article.body
    assert article.title == TITLE  # and the rest of the page is untouched


def test_undecodable_bytes_never_crash(tmp_path):
    data = b"Headline \x81\x8d\x8f\x90\x9d\xff\n\nBody \xc3\x28 text \xe2\x82\n"
    article = read_one(write(tmp_path, data)).article
    assert article.title == "Headline \x81\x8d\x8f\x90\x9d\u00ff"
    assert article.body.startswith("Body \u00c3( text")


def test_blank_line_between_every_line(tmp_path):
    text = "\n\n".join(line for line in seed_text().split("\n") if line.strip())
    article = read_one(write(tmp_path, text)).article
    assert article == parse_raw_page(seed_text())


def test_short_story_with_a_byline_at_the_end(tmp_path):
    text = "Headline\n\nFirst paragraph.\n\nSecond paragraph.\n\nBy Jane Doe\n"
    article = read_one(write(tmp_path, text)).article
    assert "standfirst" not in article.extra
    assert article.body == "First paragraph.\n\nSecond paragraph.\n\nBy Jane Doe"
    only = read_one(write(tmp_path, "Headline\nThe only text.\nBy Jane Doe\n", "b.txt")).article
    assert (only.body, only.author) == ("The only text.", "Jane Doe")


def test_minimal_pages(tmp_path):
    plain = read_one(write(tmp_path, "A headline\nFirst paragraph.\nSecond line.\n", "a.txt"))
    assert plain.article.title == "A headline"
    assert plain.article.body == "First paragraph.\nSecond line."
    assert "standfirst" not in plain.article.extra and plain.article.date is None
    with_standfirst = read_one(write(tmp_path, "Head\nThe standfirst.\n\nThe body.\n", "b.txt"))
    assert with_standfirst.article.extra["standfirst"] == "The standfirst."
    assert with_standfirst.article.body == "The body."


@pytest.mark.parametrize(
    "text, line, field",
    [
        ("", 1, "title"),
        ("\n\n \n", 3, "title"),
        (" date 2016-11-09 WORLD\n4 MIN READ\n", 2, "title"),
        (" date 2016-11-09 WORLD\nA headline alone\n\n", 3, "body"),
        ("A headline\nBy Staff Reporter\nNovember 9, 2016\n\nSOURCE: Reuters\n", 5, "body"),
        ("By Staff Reporter\nNovember 9, 2016\n\nBody text.\n", 1, "title"),
        ("Explore\nUnrelated headline\n", 1, "title"),
        (" date 2016-13-45 WORLD\nHeadline\n\nBody.\n", 1, "date"),
    ],
)
def test_pages_without_title_or_body_name_file_line_and_field(tmp_path, text, line, field):
    path = write(tmp_path, text)
    with pytest.raises(IngestError) as info:
        list(iter_records(path))
    problem = info.value.problem
    assert (problem.path, problem.line, problem.field) == (str(path), line, field)
    assert str(info.value).startswith(f"{path}:{line}: {field}: ")


def test_raw_ids_are_stable_and_normalized():
    base = raw_id("TRT World", dt.date(2016, 11, 9), TITLE)
    assert base.startswith("raw-") and len(base) == 20 and int(base[4:], 16) >= 0
    assert (
        raw_id(
            "trt-world",
            dt.date(2016, 11, 9),
            "  battle for STRATEGIC district in aleppo continues ",
        )
        == base
    )
    assert raw_id("TRT World", dt.date(2016, 11, 10), TITLE) != base
    assert raw_id("Reuters", dt.date(2016, 11, 9), TITLE) != base
    assert raw_id(None, None, TITLE) != base


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("TRTWorld and agencies", "TRT World"),
        ("TRT World and Agencies", "TRT World"),
        ("TRT World", "TRT World"),
        ("Reuters", "Reuters"),
        ("Associated Press", "AP"),
        ("The Associated Press", "AP"),
        ("AP", "AP"),
        ("Agence France-Presse", "AFP"),
        ("AFP and agencies", "AFP"),
        ("Reuters and AFP", "Reuters"),
        ("Daily Sabah and agencies", "Daily Sabah"),
        ("agencies", "Agencies"),
        ("Press and Journal", "Press and Journal"),
        ("  ", None),
    ],
)
def test_normalize_source(raw, expected):
    assert normalize_source(raw) == expected
