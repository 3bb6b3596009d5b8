"""The curated source list config/feeds/russia-china.opml: its shape, its outlets, its import, and
`feeds check` against loopback copies of its feeds (nothing here reaches beyond 127.0.0.1)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from click.testing import CliRunner
from conftest import TOPIC

from briefing.cli import main
from briefing.config import load_config
from briefing.opml import read_opml, slug
from briefing.outlets import bundled_registry
from briefing.urls import canonical_url

OPML = Path(__file__).resolve().parents[1] / "config" / "feeds" / "russia-china.opml"
BLOCS = ("Russian state media", "Chinese state media", "Russian independent media", "Western media", "Other")
LANGUAGES = {"en", "ru", "zh"}


def folders(root: ET.Element) -> list[tuple[str, list[ET.Element]]]:
    """The body's folders (bloc name, its feed outlines)."""
    body = root.find("body")
    assert body is not None
    return [(f.get("text", ""), f.findall("outline")) for f in body.findall("outline")]


def feeds(root: ET.Element) -> list[tuple[str, ET.Element]]:
    return [(bloc, o) for bloc, outlines in folders(root) for o in outlines]


@pytest.fixture(scope="module")
def root() -> ET.Element:
    return ET.parse(OPML).getroot()


def test_opml_is_version_2_with_a_folder_per_bloc(root: ET.Element) -> None:
    """OPML 2.0; every top-level outline is a folder (no xmlUrl); the feeds sit inside them."""
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title")
    for bloc, outlines in folders(root):
        assert bloc and outlines, bloc
    body = root.find("body")
    assert body is not None and all(f.get("xmlUrl") is None for f in body.findall("outline"))
    assert 40 <= len(feeds(root)) <= 60


def test_header_says_the_urls_are_unverified() -> None:
    head = OPML.read_text(encoding="utf-8")[:1500]
    assert "NOT VERIFIED" in head and "2026-12-01" in head and "feeds check" in head


def test_every_feed_has_an_http_url_and_unique_url_and_name(root: ET.Element) -> None:
    """Unique after canonical form and after the slug the import gives a name, so nothing merges away."""
    outlines = [o for _, o in feeds(root)]
    urls = [o.get("xmlUrl", "") for o in outlines]
    assert all(urlsplit(u).scheme in ("http", "https") and urlsplit(u).hostname for u in urls), urls
    assert len({canonical_url(u) for u in urls}) == len(urls)
    names = [o.get("title") or o.get("text") or "" for o in outlines]
    assert all(names) and len({slug(n) for n in names}) == len(names)
    assert all(o.get("type") == "rss" for o in outlines)
    assert [s.url for s in read_opml(OPML)] == urls  # the reader the import uses sees every feed


def test_every_feed_belongs_to_a_registered_outlet_of_its_folders_bloc(root: ET.Element) -> None:
    """The feed's domain resolves in the bundled registry to the outlet the outline names, in its folder's bloc."""
    registry = bundled_registry()
    for bloc, outline in feeds(root):
        url = outline.get("xmlUrl", "")
        outlet = registry.by_domain(url)
        assert outlet is not None, f"{url}: no outlet in config/outlets.yaml"
        assert outlet.name == outline.get("outlet"), url
        assert outlet.bloc == bloc and bloc in registry.blocs, url
        assert f"/bloc/{bloc}" in outline.get("category", "").split(","), url


def test_all_blocs_and_languages_are_present(root: ET.Element) -> None:
    """The five blocs of the issue, and each of English, Russian and Chinese in more than one bloc."""
    blocs = {bloc for bloc, _ in feeds(root)}
    assert set(BLOCS) <= blocs
    by_language: dict[str, set[str]] = {}
    for bloc, outline in feeds(root):
        language = outline.get("language", "").split("-")[0]
        assert language in LANGUAGES, outline.get("xmlUrl")
        assert f"/language/{language}" in outline.get("category", "").split(",")
        by_language.setdefault(language, set()).add(bloc)
    assert set(by_language) == LANGUAGES
    assert all(len(b) >= 2 for b in by_language.values()), by_language


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "briefing.yaml"
    config.write_text(yaml.safe_dump({"topic": str(TOPIC), "fetch": {"retries": 0}, "sources": []}),
                      encoding="utf-8")
    return config


def test_import_adds_every_feed_once(tmp_path: Path, root: ET.Element) -> None:
    """`briefing feeds import` takes the whole list into feeds.yaml; importing it again adds nothing."""
    config = write_config(tmp_path)
    runner = CliRunner()
    first = runner.invoke(main, ["feeds", "import", str(OPML), "--config", str(config)])
    assert first.exit_code == 0, first.output
    total = len(feeds(root))
    assert f"{total} feeds added, 0 already configured" in first.stderr
    loaded = load_config(config, environ={})
    assert [s.feed for s in loaded.sources] == [o.get("xmlUrl") for _, o in feeds(root)]
    assert loaded.sources[0].name == "tass-english"
    again = runner.invoke(main, ["feeds", "import", str(OPML), "--config", str(config)])
    assert again.exit_code == 0 and f"0 feeds added, {total} already configured" in again.stderr
    assert len(load_config(config, environ={}).sources) == total


def rss(title: str, language: str, item: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://example.org/</link><language>{language}</language><description>d</description>"
            f"<item><guid>{slug(title)}-1</guid><title>{item}</title><link>https://example.org/{slug(title)}/1</link>"
            f"<description>{item}.</description></item>"
            f"<item><guid>{slug(title)}-2</guid><title>{item} (2)</title>"
            f"<description>{item}, more.</description></item></channel></rss>")


ITEMS = {"en": "Russia and China sign a grain corridor deal", "ru": "Россия и Китай подписали соглашение",
         "zh": "中俄签署粮食走廊协议"}


def loopback_copy(root: ET.Element, tmp_path: Path, httpserver, broken: str | None = None) -> tuple[Path, list[str]]:
    """The OPML with the first feed of each folder pointed at a loopback copy of it (the rest dropped).

    Each copy is a small RSS 2.0 document in the feed's language with two items; ``broken``
    (a feed name) answers 404 instead. Returns the file and the imported names in order.
    """
    copy = ET.fromstring(ET.tostring(root))
    names = []
    for _, outlines in folders(copy):
        first, *rest = outlines
        folder = next(f for f in copy.iter("outline") if first in list(f))
        for o in rest:
            folder.remove(o)
        name = slug(first.get("title", ""))
        path = f"/{name}.xml"
        if name == broken:
            httpserver.expect_request(path).respond_with_data("gone", status=404)
        else:
            language = first.get("language", "en")
            httpserver.expect_request(path).respond_with_data(
                rss(first.get("title", ""), language, ITEMS[language.split("-")[0]]),
                content_type="application/rss+xml; charset=utf-8",
                headers={"Last-Modified": "Tue, 24 Nov 2026 08:00:00 GMT"})
        first.set("xmlUrl", httpserver.url_for(path))
        names.append(name)
    out = tmp_path / "loopback.opml"
    ET.ElementTree(copy).write(out, encoding="utf-8", xml_declaration=True)
    return out, names


def check(tmp_path: Path, opml: Path) -> tuple[int, list[list[str]]]:
    config = write_config(tmp_path)
    runner = CliRunner()
    imported = runner.invoke(main, ["feeds", "import", str(opml), "--config", str(config)])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(main, ["feeds", "check", "--config", str(config)])
    return result.exit_code, [line.split() for line in result.stdout.splitlines()]


def test_check_reads_loopback_copies_of_every_bloc(httpserver, tmp_path: Path, root: ET.Element) -> None:
    """One feed per bloc, served from loopback in its own language: each row ok with 2 items; exit 0."""
    opml, names = loopback_copy(root, tmp_path, httpserver)
    assert len(names) == len(folders(root)) >= len(BLOCS)
    code, rows = check(tmp_path, opml)
    assert code == 0, rows
    assert rows[0] == ["feed", "status", "items", "last-modified", "error"]
    assert [r[:3] for r in rows[1:]] == [[n, "ok", "2"] for n in names]
    assert all(" ".join(r[3:]) == "Tue, 24 Nov 2026 08:00:00 GMT" for r in rows[1:])


def test_check_reports_the_one_feed_that_fails(httpserver, tmp_path: Path, root: ET.Element) -> None:
    """A feed of the list that answers 404 is named failed with the HTTP status; the others stay ok; exit 1."""
    broken = slug(folders(root)[1][1][0].get("title", ""))
    opml, names = loopback_copy(root, tmp_path, httpserver, broken=broken)
    code, rows = check(tmp_path, opml)
    assert code == 1
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == set(names)
    assert by_name[broken][1:3] == ["failed", "0"] and " ".join(by_name[broken]).endswith("HTTP 404 Not Found")
    assert all(by_name[n][1:3] == ["ok", "2"] for n in names if n != broken)
