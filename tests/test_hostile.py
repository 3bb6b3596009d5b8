"""Hostile input through every source: each bad file or feed costs one logged line, the run goes on.

The folder gets binary files, a 200 MB file, lying and unusual encodings,
markup with scripts and entity tricks, an enormous single line, encoded
blobs, empty files, a named pipe and a dead link. The feeds (real HTTP on
loopback) get an entity bomb, an external entity, a gzip bomb, an endless
stream, a redirect loop, a trickling server, a lying charset and
``javascript:``/``data:`` links. The flows then ingest and digest all of it.
"""

from __future__ import annotations

import gzip
import logging
import os
import tracemalloc
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import lxml.html
import pytest
import yaml
from conftest import TOPIC
from test_feeds import _BadServer
from werkzeug import Response

from briefing.extract import decode, to_article
from briefing.ingest import extract_outcome
from briefing.sources.folder import FolderSource
from briefing.store import Store

NOW = datetime(2026, 11, 26, 6, tzinfo=timezone.utc)

PARAS = [
    "Russian and Chinese officials met in Harbin on Tuesday to review cross-border rail freight, "
    "which both governments want to double by the end of the decade.",
    "The delegations agreed to open a second customs lane at the Zabaikalsk crossing and to share "
    "cargo manifests electronically, officials from both sides said.",
    "Analysts in Moscow said the talks showed how far trade between the two neighbours now depends "
    "on overland routes rather than on shipping through European ports.",
]
ARTICLE = "Russia and China agree to speed up rail freight at the border\n\n" + "\n\n".join(PARAS) + "\n"
RU_PARAS = [
    "Россия и Китай договорились расширить поставки газа по новому трубопроводу через Монголию.",
    "Переговоры прошли в Пекине, стороны обсудили цены, сроки строительства и объёмы на ближайшие годы.",
    "Эксперты считают, что соглашение укрепит энергетическое партнёрство двух стран.",
]
RU_ARTICLE = "Россия и Китай расширят поставки газа\n\n" + "\n\n".join(RU_PARAS) + "\n"


def html_page(body: str, head: str = "", prologue: str = "") -> str:
    return (f"{prologue}<html><head><title>Rail freight talks</title>{head}</head><body><nav><a href='/'>Home</a>"
            f"</nav><article><h1>Russia and China agree to speed up rail freight</h1>{body}</article>"
            f"<footer>Copyright 2026</footer></body></html>")


def entity_doctype(root: str, secret: Path, *, bomb: bool = True) -> str:
    """A DOCTYPE declaring ``&xxe;``, an external entity (the secret file), and with ``bomb`` the nested
    entities of a "billion laughs": ``&e8;`` is 10^8 copies of 40 characters, 4 GB to a parser that expands it."""
    laughs = "".join(f'<!ENTITY e{i} "{f"&e{i - 1};" * 10 if i else "boom" * 10}">' for i in range(9))
    return f'<!DOCTYPE {root} [{laughs if bomb else ""}<!ENTITY xxe SYSTEM "file://{secret}">]>'


def hostile_folder(root: Path, secret: Path) -> dict[str, str]:
    """Write the hostile files; returns {file name: what its skip reason must say}."""
    root.mkdir()
    (root / "good.txt").write_text(ARTICLE, encoding="utf-8")
    paras = "".join(f"<p>{p}</p>" for p in PARAS)
    scripts = ("<script>alert('txt')</script><p onclick=\"alert('click')\">Click handlers run nothing here, "
               "and the rail officials repeated that freight would keep rising next year.</p>"
               "<p><a href=\"javascript:alert('link')\">javascript link</a> and "
               "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">data link</a></p>"
               "<iframe src=\"javascript:alert('frame')\"></iframe><style>p {color: red}</style>")
    (root / "scripts.html").write_text(html_page(paras + scripts), encoding="utf-8")
    doctype = '<?xml version="1.0"?>' + entity_doctype("html", secret)
    (root / "entities.html").write_text(html_page(paras + "<p>&e8; &xxe;</p>", prologue=doctype), encoding="utf-8")
    # declared UTF-8 in the page, written in windows-1251
    (root / "lying.html").write_bytes(html_page("".join(f"<p>{p}</p>" for p in RU_PARAS),
                                                head='<meta charset="utf-8">').encode("cp1251"))
    (root / "koi8.txt").write_bytes(RU_ARTICLE.encode("koi8-r"))
    (root / "wide.txt").write_bytes(RU_ARTICLE.encode("utf-16-le"))  # no byte-order mark
    reasons = {
        "image.txt": "binary file (a PNG image)",
        "report.html": "binary file (a PDF document)",
        "noise.txt": "binary file (NUL bytes)",
        "huge.txt": "file too large (209,715,200 bytes",
        "oneline.txt": "a single line of 1,500,000 characters",
        "blob.md": "only encoded data",
        "empty.txt": "empty file",
        "blank.md": "only whitespace",
        "pipe.txt": "not a regular file (a named pipe)",
        "dead.txt": "not a regular file (a broken symbolic link)",
        "photo.jpg": "unsupported file type .jpg",
        "tags.html": "no article text found",
    }
    (root / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(2000))
    (root / "report.html").write_bytes(b"%PDF-1.7\n" + os.urandom(2000))
    (root / "noise.txt").write_bytes(os.urandom(4000).replace(b"\x00", b"\x01") + b"\x00" * 7 + os.urandom(100))
    with open(root / "huge.txt", "wb") as fh:  # sparse: 200 MB on paper, nothing on disk
        fh.truncate(200 * 1024 * 1024)
    (root / "oneline.txt").write_text("freight " * 187_500, encoding="utf-8")
    (root / "blob.md").write_text("A" * 300_000 + "==\n", encoding="utf-8")
    (root / "empty.txt").write_bytes(b"")
    (root / "blank.md").write_text("  \n\n\t\n", encoding="utf-8")
    os.mkfifo(root / "pipe.txt")
    (root / "dead.txt").symlink_to(root / "nowhere.txt")
    (root / "photo.jpg").write_bytes(b"\xff\xd8\xff" + os.urandom(100))
    (root / "tags.html").write_text("<html><body><script>var x = 1;</script></body></html>", encoding="utf-8")
    return reasons


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(f"TOP-SECRET-{uuid.uuid4().hex}", encoding="utf-8")
    return path


def test_every_hostile_file_is_one_reason_and_the_rest_is_read(tmp_path: Path, secret: Path) -> None:
    """Each bad file is skipped once with a specific one-line reason; the 200 MB file is never loaded."""
    reasons = hostile_folder(tmp_path / "inbox", secret)
    tracemalloc.start()
    try:
        outcome = FolderSource("inbox", tmp_path / "inbox").fetch()
        extracted = extract_outcome(outcome, NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB: a file was loaded whole"
    skipped = {Path(loc).name: reason for loc, reason in extracted.skipped}
    assert len(skipped) == len(extracted.skipped), "each file is skipped once"
    for name, expected in reasons.items():
        assert expected in skipped.get(name, ""), (name, skipped.get(name))
    assert all("\n" not in r for r in skipped.values())
    read = {Path(a.location).name: a for a in extracted.articles}
    assert set(read) == {"good.txt", "scripts.html", "entities.html", "lying.html", "koi8.txt", "wide.txt"}
    for name in ("good.txt", "scripts.html", "entities.html"):
        for p in PARAS:
            assert p in read[name].text, name
    for name in ("lying.html", "koi8.txt", "wide.txt"):
        for p in RU_PARAS:
            assert p in read[name].text, name
    for a in read.values():
        for bad in ("alert(", "javascript:", "data:text", "color: red", "boomboom", secret.read_text()):
            assert bad not in a.text and bad not in a.title, (a.location, bad)


@pytest.mark.parametrize(("encoding", "declared"), [
    ("cp1251", ("utf-8",)), ("koi8-r", ()), ("cp1251", ("iso-8859-1",)), ("utf-8", ("windows-1251",)),
    ("utf-16-be", ()), ("iso-8859-5", ()),
])
def test_lying_or_missing_charset_labels_are_not_believed(encoding: str, declared: tuple[str, ...]) -> None:
    assert decode(RU_ARTICLE.encode(encoding), "x", declared) == RU_ARTICLE


def test_an_honest_latin_label_is_kept() -> None:
    text = "Le président a rencontré à Pékin son homologue; les échanges ont été évoqués. Ça coûte cher.\n"
    assert decode(text.encode("latin-1"), "x", ("iso-8859-1",)) == text


def test_enormous_lines_fail_fast_with_their_length() -> None:
    from briefing.exceptions import ExtractionError
    from briefing.types import RawItem

    for body in ("word " * 2_000_000, "x" * 5_000_000):
        with pytest.raises(ExtractionError, match=r"characters") as err:
            to_article(RawItem(source="s", location="big.txt", body=body, kind="text"), NOW)
        assert "\n" not in str(err.value)
    feed_title = "Russia China " * 10_000
    a = to_article(RawItem(source="s", location="x", body=ARTICLE, kind="text", title=feed_title), NOW)
    assert len(a.title) <= 301 and a.title.endswith("…")


# --- feeds and the flows ----------------------------------------------------------

def rss_bytes(items: list[tuple[str, str, str]], prologue: str = "", encoding: str = "utf-8") -> bytes:
    body = "".join(f"<item><guid>{link}</guid><link>{link}</link><title>{title}</title>"
                   f"<pubDate>Tue, 24 Nov 2026 08:30:00 +0300</pubDate><description>{desc}</description></item>"
                   for link, title, desc in items)
    return (f'<?xml version="1.0" encoding="utf-8"?>{prologue}<rss version="2.0"><channel><title>T</title>'
            f"<link>http://x/</link>{body}</channel></rss>").encode(encoding)


def _endless() -> Iterator[bytes]:
    yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
    for _ in range(200 * 16):  # 200 MB if nobody stops reading
        yield b"<!-- " + b"x" * 65_000 + b" -->"


class _RunLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.mark.usefixtures("prefect_server")
def test_flows_go_on_past_every_hostile_source(httpserver, tmp_path: Path, secret: Path) -> None:
    """Ingest logs one line per bad file or feed and stores the rest; the digest shows no active markup."""
    from flows.digest import digest_flow
    from flows.ingest import ingest_flow

    reasons = hostile_folder(tmp_path / "inbox", secret)
    entity_feed = rss_bytes([("https://news.example/bomb", "Russia and China sign rail freight deal",
                              " ".join(PARAS) + " &e8;")], prologue=entity_doctype("rss", secret))
    xxe_feed = rss_bytes([("https://news.example/xxe", "Moscow and Beijing review border crossings",
                           " ".join(PARAS) + " &xxe;")], prologue=entity_doctype("rss", secret, bomb=False))
    lying = rss_bytes([("https://news.example/ru", "Россия и Китай расширят поставки газа", " ".join(RU_PARAS))],
                      encoding="cp1251")  # declares utf-8
    links = rss_bytes([
        ("javascript:alert(1)", "Russian and Chinese ministers meet over gas pipeline prices",
         "&lt;script&gt;alert('feed')&lt;/script&gt;Russian and Chinese energy ministers met in Beijing to discuss "
         "gas prices for the Power of Siberia 2 pipeline, officials said, and agreed to meet again in Moscow."),
        ("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "China and Russia hold joint naval drill",
         "The Chinese and Russian navies began a joint exercise in the Sea of Japan on Monday, the defence "
         "ministries of both countries said, with warships and aircraft from each side."),
    ])
    httpserver.expect_request("/entities.xml").respond_with_data(entity_feed, content_type="application/rss+xml")
    httpserver.expect_request("/xxe.xml").respond_with_data(xxe_feed, content_type="application/rss+xml")
    httpserver.expect_request("/lying.xml").respond_with_data(lying, content_type="application/rss+xml")
    httpserver.expect_request("/links.xml").respond_with_data(links, content_type="application/rss+xml")
    httpserver.expect_request("/gzip-bomb.xml").respond_with_data(
        gzip.compress(b"<rss>" + b" " * (50 * 1024 * 1024), compresslevel=1),
        headers={"Content-Encoding": "gzip"}, content_type="application/rss+xml")
    httpserver.expect_request("/endless.xml").respond_with_response(
        Response(_endless(), content_type="application/rss+xml"))
    httpserver.expect_request("/loop.xml").respond_with_data("", status=302, headers={"Location": "/loop.xml"})
    httpserver.expect_request("/binary.xml").respond_with_data(b"\x89PNG\r\n\x1a\n" + os.urandom(500),
                                                               content_type="application/rss+xml")
    httpserver.expect_request("/empty.xml").respond_with_data(b"", content_type="application/rss+xml")
    trickle = _BadServer("trickle")
    feeds = {"entities": "/entities.xml", "xxe": "/xxe.xml", "lying": "/lying.xml", "links": "/links.xml",
             "gzip-bomb": "/gzip-bomb.xml", "endless": "/endless.xml", "loop": "/loop.xml",
             "binary": "/binary.xml", "empty": "/empty.xml"}
    failing = {"gzip-bomb": "byte cap", "endless": "byte cap", "loop": "redirects", "binary": "a PNG image",
               "empty": "not a feed", "trickle": "no complete response within 2 s"}
    config = {"state_dir": "state", "archive_dir": "archive", "topic": str(TOPIC),
              "fetch": {"retries": 0, "deadline": 2, "read_timeout": 1, "max_bytes": 2 * 1024 * 1024,
                        "teaser_words": 0},
              "digest": {"first_window_days": 30},
              "sources": [{"name": "inbox", "folder": str(tmp_path / "inbox")},
                          *({"name": n, "feed": httpserver.url_for(p)} for n, p in feeds.items()),
                          {"name": "trickle", "feed": f"http://127.0.0.1:{trickle.port}/feed.xml"}]}
    path = tmp_path / "briefing.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    run_log = _RunLog()
    logging.getLogger("prefect.flow_runs").addHandler(run_log)
    try:
        healths = {h.source: h for h in ingest_flow(str(path))}
        result = digest_flow(str(path))
    finally:
        logging.getLogger("prefect.flow_runs").removeHandler(run_log)
        trickle.stop.set()

    for name, expected in failing.items():
        assert healths[name].status == "failed" and expected in (healths[name].error or ""), healths[name]
        assert sum(f"source {name} failed:" in line for line in run_log.lines) == 1, name
    for name in ("entities", "xxe", "lying", "links"):
        assert healths[name].status == "ok" and healths[name].new == (2 if name == "links" else 1), healths[name]
    # six files read; koi8.txt and wide.txt, and good.txt and entities.html, clean to the same text: one article each
    assert (healths["inbox"].items, healths["inbox"].new) == (6, 4)
    for name, expected in reasons.items():
        lines = [line for line in run_log.lines if line.startswith("skipped ") and f"/{name}:" in line]
        assert len(lines) == 1 and expected in lines[0], (name, lines)
    assert all("\n" not in line for line in run_log.lines)
    store = Store.open_dir(tmp_path / "state")
    try:
        stored = {a.source: a for a in store.articles_seen_between(NOW.replace(year=2000), NOW.replace(year=2100))}
    finally:
        store.close()
    assert stored["lying"].title == "Россия и Китай расширят поставки газа"
    assert all(p in stored["lying"].text for p in RU_PARAS)
    assert secret.read_text() not in stored["xxe"].text and "boomboom" not in stored["entities"].text

    assert result.status == "archived" and result.path is not None
    html = result.path.read_text(encoding="utf-8")
    text = result.path.with_suffix(".txt").read_text(encoding="utf-8")
    assert "joint naval drill" in html and "gas pipeline prices" in html, "the feed's stories are there"
    doc = lxml.html.fromstring(html)
    assert not doc.xpath("//script|//iframe|//object|//embed")
    hrefs = doc.xpath("//@href")
    # Every story with a web link here is a copy of an inbox file (the inbox copy is kept), so there may be none.
    assert all(h.startswith(("http://", "https://")) for h in hrefs), hrefs
    assert not [a for el in doc.iter() if isinstance(el.tag, str) for a in el.attrib if a.startswith("on")]
    for out in (html, text):
        assert "javascript:" not in out and "data:text" not in out and secret.read_text() not in out
        assert "boomboom" not in out and "Ðî" not in out


def test_deeply_nested_feeds_are_a_reason_not_a_crash() -> None:
    from briefing.sources.feed import parse_feed

    deep_json = b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_feed(deep_json, "http://x/feed.json")


def test_an_unforeseen_extractor_error_skips_only_that_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """The safety net: an extractor's internal error on one item is that item's reason, not the run's end."""
    import briefing.ingest
    from briefing.sources import SourceOutcome
    from briefing.types import RawItem

    def choke(item: RawItem, now: datetime, *rest):
        if item.location == "bad":
            raise RecursionError("maximum recursion depth exceeded")
        return to_article(item, now, *rest)

    monkeypatch.setattr(briefing.ingest, "to_article", choke)
    items = tuple(RawItem(source="s", location=loc, body=ARTICLE, kind="text") for loc in ("bad", "good"))
    extracted = extract_outcome(SourceOutcome("s", items=items), NOW)
    assert [a.location for a in extracted.articles] == ["good"]
    assert extracted.skipped == (("bad", "extraction failed: RecursionError: maximum recursion depth exceeded"),)
