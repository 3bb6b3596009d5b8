"""The archived HTML digest in a real browser: 600 px wide, no horizontal overflow, nothing fetched.

Drives Debian's ``chromium`` (not a Playwright-downloaded build) through
Playwright. The digest is built the way a run builds it, minus Prefect and the
store: folder source → articles → ``build_digest`` → ``render`` → ``archive``.
The module is skipped when ``chromium`` is not on PATH (``make test`` installs
it with apt-get) or Playwright is not installed (the ``test`` extra).

Three scripts: a story reported in English, Russian and Chinese (the sample
inbox's Bishkek meeting, put into one story here so the check does not depend
on how stories are grouped) must fit too, and show no tofu. Tofu is checked in
two steps, both able to fail: fontconfig must have a font covering every Han
and every Cyrillic character on the page (``fc-list :charset=…``, one font for
all of a script's characters), and Chromium must have drawn each ``lang="zh"``
/ ``lang="ru"`` element's text with such a font (DevTools'
``CSS.getPlatformFontsForNode`` names the fonts a node's glyphs came from; a
character no font has is drawn as the first font's .notdef box, and that font
is not among the covering ones). Debian's chromium finds CJK fonts through
fontconfig only; ``make chromium`` installs fonts-wqy-microhei when
``fc-list :lang=zh`` is empty.

``python tests/test_browser.py docs/digest-sample.png`` regenerates the
screenshot shown in the docs.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import INBOX, ROOT, SEEDS, TOPIC

NOW = datetime(2026, 11, 26, 8, tzinfo=timezone.utc)
WIDTH = 600

CHROMIUM = shutil.which("chromium")
if __name__ != "__main__":
    if CHROMIUM is None:
        pytest.skip("chromium is not on PATH (Debian: apt-get install chromium)", allow_module_level=True)
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from briefing.config import DigestConfig  # noqa: E402
from briefing.digest import Window, build_digest  # noqa: E402
from briefing.exceptions import ExtractionError  # noqa: E402
from briefing.extract import to_article  # noqa: E402
from briefing.relevance import load_topic  # noqa: E402
from briefing.render import archive, render  # noqa: E402
from briefing.sources.folder import FolderSource, read_document  # noqa: E402
from briefing.types import Digest, Evidence, Relevance, Sentence, SourceHealth, Story  # noqa: E402

# One event in three languages, from the sample inbox: the lead is the English report.
THREE_LANGUAGES = ("2026-11-20-sco-foreign-ministers-bishkek.txt", "2026-11-19-lavrov-wang-yi-bishkek-ru.txt",
                   "2026-11-20-wang-yi-lavrov-bishkek-zh.html")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")

# Quiet, offline, no sandbox (containers and CI run as root).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Everything in <body> (elements and text runs) whose right edge passes the viewport.
OVERFLOWING = """(width) => {
  const out = [];
  const describe = (el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '');
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > width + 0.5) out.push(`${describe(el)} right=${r.right}`);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.textContent.trim()) continue;
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.right > width + 0.5) {
        out.push(`text in ${describe(node.parentElement)} right=${r.right}: ${node.textContent.trim().slice(0, 60)}`);
        break;
      }
    }
  }
  return out;
}"""


def archive_digest(folder: Path, name: str, out_dir: Path, max_stories: int = DigestConfig().max_stories) -> Path:
    """Build, render and archive the digest of one folder source; returns the HTML file."""
    outcome = FolderSource(name, folder).fetch()
    articles = []
    for item in outcome.items:
        try:
            articles.append(to_article(item, NOW))
        except ExtractionError:
            continue  # an empty page is skipped in a real run too
    health = [SourceHealth(name, "ok", items=len(outcome.items), new=len(articles))]
    settings = DigestConfig(max_stories=max_stories)
    digest = build_digest(articles, load_topic(TOPIC), settings,
                          Window(NOW - timedelta(days=settings.first_window_days), NOW), NOW, health=health)
    return archive(digest, render(digest, settings.max_stories), out_dir)


def archive_three_languages(out_dir: Path) -> Path:
    """One story of the same event in English, Russian and Chinese, each quoted: rendered and archived."""
    articles = [to_article(read_document(INBOX / name, "sample-inbox"), NOW) for name in THREE_LANGUAGES]
    quotes = tuple(Sentence(p, a.id, a.outlet_name, a.location)
                   for a in articles for p in [p for p in a.paragraphs if len(p) >= 40][:2])  # not a nav line
    story = Story(lead=articles[0], articles=tuple(articles), summary=quotes,
                  relevance=Relevance(1.0, True, (Evidence("Лавров", "russia", "title", 1.0),
                                                  Evidence("王毅", "china", "title", 1.0))),
                  keyphrases=("Shanghai Cooperation Organisation", "банк развития ШОС", "上合组织开发银行"))
    digest = Digest("Russia–China Relations Digest", NOW - timedelta(days=1), NOW, NOW, (story,),
                    considered=3, relevant=3, duplicates=0)
    return archive(digest, render(digest, 15), out_dir)


def fonts_covering(chars: set[str]) -> set[str]:
    """Families of the installed fonts that have a glyph for every one of ``chars`` (fontconfig's view)."""
    charset = " ".join(f"{ord(c):x}" for c in sorted(chars))
    listed = subprocess.run(["fc-list", f":charset={charset}", "family"], capture_output=True, text=True,
                            check=True).stdout
    return {name.strip().lower() for line in listed.splitlines() for name in line.split(",") if name.strip()}


def rendering_fonts(page: Page, selector: str) -> list[tuple[str, set[str]]]:
    """(text, families Chromium drew its glyphs with) for each element matching ``selector``, in document order."""
    texts = page.evaluate("(sel) => [...document.querySelectorAll(sel)].map((el) => el.textContent)", selector)
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        nodes = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": selector})["nodeIds"]
        fonts = [cdp.send("CSS.getPlatformFontsForNode", {"nodeId": n})["fonts"] for n in nodes]
    finally:
        cdp.detach()
    assert len(fonts) == len(texts)
    return [(t, {f["familyName"].lower() for f in fs if f["glyphCount"]}) for t, fs in zip(texts, fonts)]


def assert_no_tofu(page: Page) -> None:
    """Every Han and Cyrillic character has a font, and Chromium drew each zh/ru element with one."""
    for lang, script in (("zh", HAN), ("ru", CYRILLIC)):
        chars = set(script.findall(page.evaluate("document.body.innerText")))
        if not chars:
            continue
        covering = fonts_covering(chars)
        assert covering, (f"no installed font has all {len(chars)} {lang} characters of the page "
                          f"(tofu): run `make chromium` (installs fonts-wqy-microhei)")
        drawn = rendering_fonts(page, f'[lang|="{lang}"]')
        assert drawn, f"no lang={lang} element, though the page has {lang} text"
        for text, families in drawn:
            if script.search(text):
                assert families & covering, (f"lang={lang} text drawn with {sorted(families)}, none of which "
                                             f"has its glyphs ({sorted(covering)[:5]} do): {text[:60]}")


def launch(playwright) -> Browser:  # type: ignore[no-untyped-def]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG signature and IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(params=["inbox", "seeds", "three-languages"])
def digest_html(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "three-languages":
        return archive_three_languages(tmp_path / "digests")
    folder = INBOX if request.param == "inbox" else SEEDS
    if not folder.is_dir() or not any(folder.iterdir()):
        pytest.fail(f"no articles at {folder} (CI always has ../shared)")
    name = "sample-inbox" if request.param == "inbox" else "seeds"
    return archive_digest(folder, name, tmp_path / "digests")


def test_digest_fits_600px_and_loads_nothing(browser: Browser, digest_html: Path, tmp_path: Path,
                                             request: pytest.FixtureRequest) -> None:
    """At 600 px nothing sticks out sideways, no glyph is tofu, the page has no scripts and requests only itself."""
    url = digest_html.as_uri()
    context = browser.new_context(viewport={"width": WIDTH, "height": 900}, device_scale_factor=1)
    # Nothing may leave the machine even if the template regresses; the request is still recorded.
    context.route(re.compile(r"^(https?|wss?|ftp)://"), lambda route: route.abort())
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    try:
        page.goto(url, wait_until="load")
        widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth,"
                               " window.innerWidth]")
        overflowing = page.evaluate(OVERFLOWING, WIDTH)
        scripts = page.evaluate("document.querySelectorAll('script').length")
        stories = page.evaluate("document.querySelectorAll('td.story').length")
        languages = page.evaluate("[...new Set([...document.querySelectorAll('td.story [lang]')]"
                                  ".map((el) => el.lang))].sort()")
        assert_no_tofu(page)
        shot = tmp_path / "digest.png"
        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()

    assert widths[2] == WIDTH
    assert widths[0] <= WIDTH and widths[1] <= WIDTH, f"horizontal overflow: scrollWidth {widths[:2]}"
    assert not overflowing, "past the right edge:\n" + "\n".join(overflowing[:20])
    assert scripts == 0
    assert requested == [url], f"external resources requested: {requested}"
    assert stories >= 1, "the digest has no stories, so the layout check proves little"
    if request.node.callspec.params["digest_html"] != "seeds":  # the sample inbox and the three-language story
        assert {"en", "ru", "zh"} <= set(languages), f"languages marked in the stories: {languages}"
    assert shot.exists()
    width, height = png_size(shot)
    assert width == WIDTH and height > 0


def main(out: Path) -> None:
    """Write the full-page 600 px screenshot of the sample inbox's digest to ``out``.

    Five full stories (the fifth the Bishkek meeting in English, Russian and Chinese) keep the PNG near 400 KB
    and show the "Also in this window" list too.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        html = archive_digest(INBOX, "sample-inbox", Path(tmp), max_stories=5)
        b = launch(p)
        page = b.new_page(viewport={"width": WIDTH, "height": 900}, device_scale_factor=1)
        page.goto(html.as_uri(), wait_until="load")
        page.screenshot(path=str(out), full_page=True)
        b.close()
    print(out, png_size(out))


if __name__ == "__main__":
    if CHROMIUM is None:
        sys.exit("chromium is not on PATH")
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "digest-sample.png")
