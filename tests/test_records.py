"""Stage records (``briefing <stage> --jsonl``) become Articles in the library, as an ingest's items do."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from briefing.exceptions import ExtractionError
from briefing.extract import content_hash, record_to_article, to_article
from briefing.types import RawItem

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)
PUBLISHED = datetime(2026, 11, 19, 6, 30, tzinfo=timezone.utc)
BODY = ("Moscow and Beijing agreed on Tuesday to widen the rail corridor through Zabaikalsk.\n"
        "Freight officials on both sides said customs checks would move to the Chinese bank.")


def test_a_raw_record_is_cleaned_exactly_as_to_article_cleans_it() -> None:
    """``clean``: the record is the text document it describes, so a stage sees what an ingest would store."""
    raw = f"Home › World › Trade\n\n{BODY}\n\nShare this article"
    got = record_to_article("wire", "https://www.rferl.org/a/corridor.html", raw, None, PUBLISHED, NOW)
    assert got == to_article(RawItem("wire", "https://www.rferl.org/a/corridor.html", raw, "text", None,
                                     PUBLISHED), NOW)
    assert got.outlet == "Radio Free Europe/Radio Liberty" and "Share this" not in got.text


def test_clean_text_is_kept_verbatim_one_paragraph_per_line() -> None:
    """Not ``clean``: an evaluation set's text as given; single newlines (and CRLF) separate its paragraphs."""
    got = record_to_article("eval", "r1", BODY.replace("\n", "\r\n"), None, PUBLISHED, NOW, clean=False)
    assert got.paragraphs == BODY.split("\n")
    assert got.text == BODY.replace("\n", "\n\n")
    assert got.title == "Moscow and Beijing agreed on Tuesday to widen the rail corridor through Zabaikalsk"
    assert (got.published, got.first_seen, got.teaser, got.outlet) == (PUBLISHED, NOW, False, None)
    assert got.content_hash == content_hash(got.text)
    given = record_to_article("eval", "r1", BODY, "Rail corridor widens", None, NOW, clean=False)
    assert given.title == "Rail corridor widens" and given.id == got.id  # the id is the source and the content


@pytest.mark.parametrize("clean", [True, False])
def test_a_headline_alone_is_a_teaser_and_one_article_per_headline(clean: bool) -> None:
    """A headline record (feeds are full of them) is its title with no text, whichever stage reads it."""
    one = record_to_article("feed", "https://example.org/a", "", "Putin and Xi meet in Kazan", None, NOW, clean)
    other = record_to_article("feed", "https://example.org/b", "  ", "Lavrov flies to Beijing", None, NOW, clean)
    assert (one.text, one.teaser, one.title) == ("", True, "Putin and Xi meet in Kazan")
    assert one.content_hash == content_hash("Putin and Xi meet in Kazan\n\n")
    assert one.id != other.id
    unclean = record_to_article("feed", "https://example.org/a", "", "Putin and Xi meet in Kazan", None, NOW, False)
    assert one.id == unclean.id  # cleaned or not, the same headline is the same article


def test_a_headline_cleaning_refuses_is_still_kept() -> None:
    """A title with no letters ("2026") is no headline to cleaning; as a record it is all there is, so it stays."""
    got = record_to_article("feed", "h2", "", "2026", PUBLISHED, NOW)
    assert (got.title, got.text, got.teaser, got.published) == ("2026", "", True, PUBLISHED)
    with pytest.raises(ExtractionError):
        to_article(RawItem("feed", "h2", "", "text", "2026", PUBLISHED), NOW)


@pytest.mark.parametrize(("text", "title", "clean"), [
    ("Home › World\n\nShare\n\nSubscribe", None, True),  # only page debris
    ("", None, True),
    ("   ", None, False),
])
def test_nothing_left_is_an_extraction_error(text: str, title: str | None, clean: bool) -> None:
    with pytest.raises(ExtractionError) as caught:
        record_to_article("wire", "r9", text, title, None, NOW, clean)
    assert caught.value.location == "r9" and caught.value.message
