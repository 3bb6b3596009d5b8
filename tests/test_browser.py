"""The HTML digest in a real browser: at 600 px, and on phones (320, 375, 414 px) in light and dark.

At 600 px: no horizontal overflow, nothing fetched, no tofu. At every width in both colour schemes
(Playwright's ``color_scheme``, which is DevTools' ``Emulation.setEmulatedMedia`` for
``prefers-color-scheme``; the test checks ``matchMedia`` agrees, so an emulation that did not take
fails): no horizontal scroll (``scrollWidth`` within ``innerWidth``), no text under 14 px, every link
outside a sentence (a headline, a listed title, "and N more stories") at least 44 px high, and every
text's colour against its background at WCAG's 4.5:1 or more; in dark, the page's background dark.
The page loaded is the email's HTML part (what a phone shows), including a 10k-article window's,
whose list of titles and "and N more stories in this window" line are tap targets too.

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
screenshot shown in the docs, and beside it ``digest-<width>-<scheme>.png``: the top of the sample
digest at each phone width and 600 px, light and dark.
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
from typing import Any

import pytest
from conftest import INBOX, ROOT, SEEDS, TOPIC

NOW = datetime(2026, 11, 26, 8, tzinfo=timezone.utc)
WIDTH = 600
WIDTHS = (320, 375, 414, 600)
SCHEMES = ("light", "dark")
SHOT_HEIGHT = 640  # the top of the page: masthead and first story, a small PNG

CHROMIUM = shutil.which("chromium")
if __name__ != "__main__":
    if CHROMIUM is None:
        pytest.skip("chromium is not on PATH (Debian: apt-get install chromium)", allow_module_level=True)
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")

from playwright.sync_api import Browser, Page, sync_playwright  # noqa: E402

from briefing.config import DigestConfig, load_config  # noqa: E402
from briefing.digest import Window, build_digest  # noqa: E402
from briefing.exceptions import ExtractionError  # noqa: E402
from briefing.extract import to_article  # noqa: E402
from briefing.outlets import Registry, registry_for  # noqa: E402
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


# Per width and scheme, what a phone reader would trip over: text under 14 px; a link under 44 px high (every
# link but those inside the sentences of a summary or a coverage line: a headline, a listed title, "and N
# more"); text under 4.5:1 contrast with the background it sits on (WCAG AA); and the scheme shown.
PHONE_CHECKS = """() => {
  const rgba = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) return c;
    }
    return matchMedia('(prefers-color-scheme: dark)').matches ? {r: 18, g: 18, b: 18} : {r: 255, g: 255, b: 255};
  };
  const describe = (el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
    + ' "' + el.textContent.trim().slice(0, 40) + '"';
  const small = [], low = [], taps = [], tapped = [];
  let contrast = Infinity;
  for (const el of document.body.querySelectorAll('*')) {
    if (!el.getClientRects().length) continue;  // not shown (the preheader)
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (own) {
      if (parseFloat(style.fontSize) < 14) small.push(`${describe(el)} ${style.fontSize}`);
      const fg = rgba(style.color), bg = background(el);
      const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (hi + 0.05) / (lo + 0.05);
      contrast = Math.min(contrast, ratio);
      if (ratio < 4.5) low.push(`${describe(el)} ${style.color} on ${bg.r},${bg.g},${bg.b}: ${ratio.toFixed(2)}`);
    }
    if (el.tagName === 'A') {
      if (el.closest('.summary, .coverage')) continue;  // a link inside a sentence is not a tap target (WCAG 2.5.8)
      const h = el.getBoundingClientRect().height;
      tapped.push(h);
      if (h < 44) taps.push(`${describe(el)} ${h.toFixed(1)} px high`);
    }
  }
  return {small, low, taps, tapped: tapped.length, contrast,
          dark: matchMedia('(prefers-color-scheme: dark)').matches,
          page: lum(background(document.querySelector('td.story') || document.body)),
          widths: [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]};
}"""


def archive_digest(folder: Path, name: str, out_dir: Path, max_stories: int = DigestConfig().max_stories,
                   registry: Registry | None = None) -> Path:
    """Build, render and archive the digest of one folder source; returns the HTML file."""
    outcome = FolderSource(name, folder).fetch()
    articles = []
    for item in outcome.items:
        try:
            articles.append(to_article(item, NOW, registry))
        except ExtractionError:
            continue  # an empty page is skipped in a real run too
    health = [SourceHealth(name, "ok", items=len(outcome.items), new=len(articles))]
    settings = DigestConfig(max_stories=max_stories)
    digest = build_digest(articles, load_topic(TOPIC), settings,
                          Window(NOW - timedelta(days=settings.first_window_days), NOW), NOW, health=health,
                          registry=registry)
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


def email_html(out_dir: Path, digest: Digest, max_stories: int = 15) -> Path:
    """The email's HTML part as a file (for a big window it is shorter than the archived page)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "email.html"
    path.write_text(render(digest, max_stories, archive_url="https://briefing.example.org/digests").html,
                    encoding="utf-8")
    return path


def sample_registry() -> Registry:
    """The outlets and blocs config/briefing.yaml gives the sample inbox, as `make run` reads them."""
    return registry_for(load_config(ROOT / "config" / "briefing.yaml"))


def sample_email(out_dir: Path, max_stories: int = DigestConfig().max_stories) -> Path:
    """The sample inbox's email, built as a run builds it (the archived page is the email: it fits)."""
    return archive_digest(INBOX, "sample-inbox", out_dir, max_stories, sample_registry())


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
    return archive_digest(folder, name, tmp_path / "digests", registry=sample_registry() if folder == INBOX else None)


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


@pytest.fixture(scope="module", params=["inbox", "three-languages", "ten-thousand"])
def phone_page(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(request.param)
    if request.param == "inbox":
        return sample_email(out)
    if request.param == "three-languages":
        return archive_three_languages(out)
    from test_render import ten_thousand_article_digest  # the generated 10k-article window

    return email_html(out, ten_thousand_article_digest())


def phone_checks(browser: Browser, url: str, width: int, scheme: str, shot: Path | None = None) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": width, "height": SHOT_HEIGHT}, device_scale_factor=1,
                                  color_scheme=scheme)  # type: ignore[arg-type]
    context.route(re.compile(r"^(https?|wss?|ftp)://"), lambda route: route.abort())
    try:
        page = context.new_page()
        page.goto(url, wait_until="load")
        found: dict[str, Any] = page.evaluate(PHONE_CHECKS)
        if shot is not None:
            page.screenshot(path=str(shot))
    finally:
        context.close()
    return found


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_phone_widths_in_both_colour_schemes(browser: Browser, phone_page: Path, width: int, scheme: str,
                                            tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """No sideways scroll, text 14 px or more, standalone links 44 px high, legible contrast; dark is dark."""
    shot = tmp_path / f"digest-{width}-{scheme}.png"
    found = phone_checks(browser, phone_page.as_uri(), width, scheme, shot)
    assert found["dark"] == (scheme == "dark"), "the colour scheme was not emulated"
    scroll, body, inner = found["widths"]
    assert inner == width and scroll <= inner and body <= inner, f"horizontal scroll: {found['widths']}"
    assert not found["small"], "text under 14 px:\n" + "\n".join(found["small"][:20])
    if request.node.callspec.params["phone_page"] == "ten-thousand":  # the sample's files are no http links
        assert found["tapped"] > 20, f"only {found['tapped']} standalone links checked"
    assert not found["taps"], "tap targets under 44 px:\n" + "\n".join(found["taps"][:20])
    assert not found["low"], "contrast under 4.5:1:\n" + "\n".join(found["low"][:20])
    if scheme == "dark":
        assert found["page"] < 0.05, f"the dark palette did not apply (story background luminance {found['page']})"
    else:
        assert found["page"] > 0.8
    assert png_size(shot) == (width, SHOT_HEIGHT)


def main(out: Path) -> None:
    """Write the full-page 600 px screenshot of the sample inbox's digest to ``out``, and beside it the top of
    the sample's email at each width in each colour scheme (``digest-<width>-<scheme>.png``, 60–120 KB each).

    Five full stories (the first the Bishkek meeting in English, Russian and Chinese) keep the PNG near 550 KB
    and show the "Also in this window" list too.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        html = archive_digest(INBOX, "sample-inbox", Path(tmp), max_stories=5, registry=sample_registry())
        b = launch(p)
        page = b.new_page(viewport={"width": WIDTH, "height": 900}, device_scale_factor=1)
        page.goto(html.as_uri(), wait_until="load")
        page.screenshot(path=str(out), full_page=True)
        print(out, png_size(out))
        sample = sample_email(Path(tmp) / "phones")
        for width in WIDTHS:
            for scheme in SCHEMES:
                shot = out.parent / f"digest-{width}-{scheme}.png"
                phone_checks(b, sample.as_uri(), width, scheme, shot)
                print(shot, png_size(shot), f"{shot.stat().st_size / 1000:.0f} KB")
        b.close()


if __name__ == "__main__":
    if CHROMIUM is None:
        sys.exit("chromium is not on PATH")
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "digest-sample.png")
