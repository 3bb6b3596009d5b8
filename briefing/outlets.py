"""Who published an article: the outlet registry and the decision from a document's evidence.

The registry (``config/outlets.yaml``, shipped in the wheel as ``briefing/outlets.yaml``) maps domains
to an outlet's display name, country, kind and bloc; a config's ``outlets:`` (a file of that shape, or
a list of entries) adds outlets or overrides bundled ones of the same name.

The decision weighs the evidence in this order: what the source said (a feed entry's ``source``
element or the feed's title, a file's front matter); in HTML, ``og:site_name``, JSON-LD
``publisher.name``, the canonical URL's domain, a "Headline | Site" title whose site is the page's home
link or a known outlet; in text, a "Source: …" or "By … for …" line, else a masthead first line
("Northwind Wire | Markets"); any of
the document's URLs whose domain the registry knows. Nothing found is None: the digest then names the
configured source (``Article.outlet_name``). A name the registry knows (an alias, another script) is
shown as the registry's display name, so "新华社" and "Xinhua News Agency" are one outlet.

``coverage`` groups a story's outlets by bloc, for the digest and its ranking.

Pure apart from reading the registry file; never imports the store, the sources or Prefect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from briefing.config import load_yaml
from briefing.exceptions import ConfigError
from briefing.types import Article, BlocGroup

OUTLETS_NAME = "outlets.yaml"
# The one copy in a checkout; a wheel carries it as briefing/outlets.yaml (pyproject.toml).
REPO_OUTLETS = Path(__file__).resolve().parent.parent / "config" / OUTLETS_NAME

Kind = Literal["state news agency", "state broadcaster", "state newspaper", "public broadcaster", "private",
               "independent or in exile", "wire", "think tank", "government"]


class Outlet(BaseModel):
    """One outlet: the name the digest shows, and what kind of voice it is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    domains: tuple[str, ...] = ()
    country: str = Field(default="", max_length=2)
    kind: Kind = "private"
    bloc: str = "Other"
    aliases: tuple[str, ...] = ()


class RegistryFile(BaseModel):
    """The file's shape: what each bloc (and kind) means, then the outlets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    blocs: dict[str, str] = Field(default_factory=dict)
    kinds: dict[str, str] = Field(default_factory=dict)
    outlets: tuple[Outlet, ...] = ()


class Registry:
    """Outlets by domain and by name (any alias, case folded)."""

    def __init__(self, outlets: tuple[Outlet, ...] | list[Outlet], blocs: dict[str, str] | None = None):
        self.outlets = tuple(outlets)
        self.blocs = dict(blocs or {})
        self._by_domain: dict[str, Outlet] = {}
        self._by_name: dict[str, Outlet] = {}
        for o in self.outlets:
            for domain in o.domains:
                self._by_domain[_host(domain)] = o
            for name in (o.name, *o.aliases):
                self._by_name[name.casefold()] = o

    def __len__(self) -> int:
        return len(self.outlets)

    def by_domain(self, url_or_host: str) -> Outlet | None:
        """The outlet owning a URL's host or a parent domain of it (english.news.cn → news.cn)."""
        host = _host(url_or_host)
        parts = host.split(".")
        for i in range(len(parts) - 1):
            found = self._by_domain.get(".".join(parts[i:]))
            if found is not None:
                return found
        return None

    def by_name(self, name: str) -> Outlet | None:
        return self._by_name.get(" ".join(name.split()).casefold())

    def merged(self, extra: RegistryFile) -> Registry:
        """These outlets with ``extra``'s added; one of the same name replaces the bundled one."""
        names = {o.name.casefold() for o in extra.outlets}
        kept = [o for o in self.outlets if o.name.casefold() not in names]
        return Registry([*kept, *extra.outlets], {**self.blocs, **extra.blocs})


@lru_cache(maxsize=1)  # asked once per article: one stat per process is enough
def bundled_outlets() -> Path:
    """The registry that ships with Briefing: inside the installed package, else in the checkout."""
    packaged = Path(str(resources.files("briefing") / OUTLETS_NAME))
    return packaged if packaged.is_file() else REPO_OUTLETS


def read_registry(path: Path, key: str | None = None, where: str | None = None) -> RegistryFile:
    """Parse one registry file.

    Raises:
        ConfigError: unreadable, not YAML, or an entry is wrong (naming the entry).
    """
    try:
        raw = load_yaml(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read outlets file: {exc.strerror or exc}", path=where or str(path), key=key) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"outlets file is not valid YAML: {' '.join(str(exc).split())}",
                          path=where or str(path), key=key) from exc
    return _validate(raw, where or str(path), key)


def _validate(raw: Any, where: str, key: str | None) -> RegistryFile:
    if isinstance(raw, list):
        raw = {"outlets": raw}
    try:
        return RegistryFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"outlets: {loc}: {err['msg']}", path=where, key=key) from exc


@lru_cache(maxsize=4)
def _bundled(path: Path) -> Registry:
    parsed = read_registry(path)
    return Registry(parsed.outlets, parsed.blocs)


def bundled_registry() -> Registry:
    return _bundled(bundled_outlets())


def registry_for(config: Any) -> Registry:
    """The bundled registry with the config's ``outlets:`` (a path, relative to the config, or a list) over it.

    Raises:
        ConfigError: the outlets file or an entry is wrong, naming the key ``outlets``.
    """
    base = bundled_registry()
    extra = getattr(config, "outlets", None)
    if extra is None:
        return base
    where = str(config.path) if getattr(config, "path", None) else "config"
    if isinstance(extra, (str, Path)):
        path = Path(extra).expanduser()
        if not path.is_absolute() and getattr(config, "path", None):
            path = Path(config.path).parent / path
        return base.merged(read_registry(path, key="outlets", where=str(path)))
    return base.merged(_validate(extra, where, "outlets"))


# --- the decision ------------------------------------------------------------------------

def decide(*, hint: str | None, kind: str, body: str, urls: tuple[str, ...] = (), registry: Registry) -> str | None:
    """The outlet of one document, by the evidence order in the module docstring; None when nothing says.

    Args:
        hint: what the source said (feed entry's source, feed title, front matter).
        kind: "html", "markdown" or "text": how to read ``body``.
        urls: the document's own addresses (its location, a front matter ``url``).
    """
    page_urls: tuple[str, ...] = ()
    candidates: list[str | None] = [hint]
    if kind == "html":
        meta = page_evidence(body)
        candidates += [meta.get("site_name"), meta.get("publisher")]
        page_urls = tuple(u for u in (meta.get("canonical"), meta.get("og_url")) if u)
        canonical = meta.get("canonical")
        if canonical and _host(canonical):
            known = registry.by_domain(canonical)
            candidates.append(known.name if known else _bare_domain(canonical))
        candidates.append(_title_site(meta, registry))
    else:
        candidates += [text_evidence(body)]
    all_urls = (*page_urls, *urls, *(() if kind == "html" else _lone_urls(body)))
    for name in candidates:
        if name and name.strip():
            return normalise(name, all_urls, registry)
    for url in all_urls:
        known = registry.by_domain(url)
        if known is not None:
            return known.name
    return None


def normalise(name: str, urls: tuple[str, ...], registry: Registry) -> str:
    """A name as the registry shows it: an alias → its display name; "TASS: World" on tass.com → TASS."""
    name = " ".join(name.split()).strip(" .,;:|-–—")[:200]
    known = registry.by_name(name)
    if known is not None:
        return known.name
    if _is_url(name):
        by_url = registry.by_domain(name)
        return by_url.name if by_url else _bare_domain(name)
    folded = name.casefold()
    for url in urls:
        owner = registry.by_domain(url)
        if owner is not None and any(n.casefold() in folded for n in (owner.name, *owner.aliases) if len(n) > 2):
            return owner.name
    for part in re.split(r"\s+[|:·•–—-]\s+|:\s+", name):  # "World news | TASS"
        known = registry.by_name(part)
        if known is not None:
            return known.name
    return name


_EVIDENCE_XPATHS = (
    ("site_name", "//meta[@property='og:site_name' or @name='og:site_name']/@content"),
    ("og_url", "//meta[@property='og:url']/@content"),
    ("canonical", "//link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href"),
    ("title", "//head/title/text()"),
)
# The home page's link: the masthead a page shows as its logo or brand.
_HOME_LINKS = "//a[@href='/' or @href='./' or @href='index.html']"
# "Headline | Site", "Headline - Site", "Headline — Site", "标题_网站" (the Chinese portals' shape).
_TITLE_SEPARATOR = re.compile(r"\s+[|–—-]\s+|\s*[_｜|]\s*|\s+::\s+|(?<=[\u3000-\u9fff\uff01-\uff1f])[-–—]")


def page_evidence(html: str) -> dict[str, str]:
    """og:site_name, JSON-LD publisher.name, the canonical URL and og:url of a page (those it has)."""
    import lxml.html

    found: dict[str, str] = {}
    try:
        root = lxml.html.document_fromstring(html.encode("utf-8", "replace"))
    except Exception:  # lxml raises several types for junk; a page without evidence is no error
        return found
    for name, xpath in _EVIDENCE_XPATHS:
        values = [v.strip() for v in root.xpath(xpath) if isinstance(v, str) and v.strip()]
        if values:
            found[name] = values[0]
    homes = [" ".join(a.text_content().split()) for a in root.xpath(_HOME_LINKS)]
    if homes:
        found["home_links"] = "\n".join(h for h in homes if h)
    for script in root.xpath("//script[@type='application/ld+json']"):
        publisher = _publisher(script.text_content())
        if publisher:
            found["publisher"] = publisher
            break
    return found


def _title_site(meta: dict[str, str], registry: Registry) -> str | None:
    """The site in a "Headline | Site" title, when the page's home link or the registry confirms it.

    A suffix alone is no evidence ("Putin - Xi talks" has a dash too); the same words as the page's
    logo link, or an outlet the registry knows, are.
    """
    parts = [p.strip() for p in _TITLE_SEPARATOR.split(meta.get("title", "")) if p.strip()]
    if len(parts) < 2:
        return None
    homes = {h.casefold() for h in meta.get("home_links", "").splitlines()}
    for part in (parts[-1], parts[0]):
        if len(part) <= 60 and (part.casefold() in homes or registry.by_name(part) is not None):
            return part
    return None


def _publisher(blob: str) -> str | None:
    try:
        data = json.loads(blob)
    except (ValueError, RecursionError):
        return None
    stack = [data]
    while stack:
        node = stack.pop(0)
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            pub = node.get("publisher")
            if isinstance(pub, list) and pub:
                pub = pub[0]
            name = pub.get("name") if isinstance(pub, dict) else None
            if isinstance(name, str) and name.strip():
                return name.strip()
            if isinstance(pub, str) and pub.strip():
                return pub.strip()
            if isinstance(node.get("@graph"), list):
                stack.extend(node["@graph"])
    return None


_SOURCE_LINE = re.compile(r"^\W{0,3}(?:source|источник|来源|來源|出处)\s*[:：]\s*(.{2,120}?)\s*$", re.IGNORECASE)
_BY_FOR = re.compile(r"^\W{0,3}by\s+[^,;]{2,80}?\s+for\s+(.{2,80}?)\s*$", re.IGNORECASE)
_EDGE_LINES = 12  # a credit line sits at the top or the foot of an article, not in the middle of it


# A scraped page's masthead as its first line: "Northwind Wire | Markets", "Pacific Monitor · Defence".
_MASTHEAD = re.compile(r"^([^\W\d_][^|·•:;,.!?\d]{1,40}?)\s+[|·•]\s+[^\W\d_][^|·•:;,.!?\d]{0,30}$")


@lru_cache(maxsize=1)  # asked twice per text (its evidence lines, its lone URLs): split it once
def _edges(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The first ``_EDGE_LINES`` non-blank lines, and those of the last ``_EDGE_LINES`` that are not among them.

    A short text's lines are all first lines: read once, not again as the foot (the answer is the first
    line that names an outlet, or a URL's first mention, so a line read twice can only say it again).
    """
    lines = tuple(ln for ln in text.splitlines() if ln and not ln.isspace())
    return lines[:_EDGE_LINES], lines[max(_EDGE_LINES, len(lines) - _EDGE_LINES):]


def text_evidence(text: str) -> str | None:
    """The outlet a "Source: …" or "By Jane Roe for …" line names, near the top or the foot of the text,
    else a masthead line ("Name | Section") that opens it."""
    top, foot = _edges(text)
    lines = [ln.strip().strip("*_").strip() for ln in (*top, *foot[::-1])]
    for line in lines:
        match = _SOURCE_LINE.match(line) or _BY_FOR.match(line)
        if match:
            value = match.group(1).strip()
            if not _is_url(value):
                value = re.split(r"\s*[,;(|]\s*|\s+[–—-]\s+", value)[0]
            value = value.strip(" .")
            if value:
                return value
    masthead = _MASTHEAD.match(lines[0]) if lines else None
    if masthead and len(masthead.group(1).split()) <= 4 and all(w[0].isupper() for w in masthead.group(1).split()):
        return masthead.group(1).strip()
    return None


_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)


def _lone_urls(text: str) -> tuple[str, ...]:
    """URLs on short lines at the top or foot of a text ("Originally published at https://…")."""
    top, foot = _edges(text)
    edge = (*top, *foot)
    return tuple(u for ln in edge if "://" in ln and len(ln.split()) <= 8 for u in _URL.findall(ln))


def _is_url(value: str) -> bool:
    return bool(re.match(r"^https?://\S+$", value.strip(), re.IGNORECASE))


def _host(url_or_host: str) -> str:
    value = url_or_host.strip().lower()
    host = urlsplit(value).hostname if "://" in value else value.split("/")[0].split(":")[0]
    return (host or "").rstrip(".")


def _bare_domain(url: str) -> str:
    host = _host(url)
    return host[4:] if host.startswith("www.") else host


# --- who carries a story: outlets grouped by bloc -------------------------------------------

OTHER = "Other"


def bloc_of(name: str, registry: Registry) -> str:
    """The bloc of an outlet the registry knows by name, else "Other" (an outlet, just not a listed one)."""
    known = registry.by_name(name)
    return known.bloc if known is not None else OTHER


def coverage(articles: Iterable[Article], registry: Registry) -> tuple[BlocGroup, ...]:
    """The outlets of ``articles`` grouped by bloc, in the registry's order of blocs, "Other" last.

    Each outlet once, in the order first met (the lead first). An article that
    names no outlet is listed by its source's name in a group of no bloc (``""``),
    last: the source is the last resort, and says nothing of who published it.
    """
    groups: dict[str, dict[str, None]] = {}
    for a in articles:
        bloc = bloc_of(a.outlet, registry) if a.outlet else ""
        groups.setdefault(bloc, {}).setdefault(a.outlet_name, None)
    order = {b: i for i, b in enumerate(b for b in registry.blocs if b != OTHER)}

    def rank(bloc: str) -> tuple[bool, bool, int, str]:
        return (bloc == "", bloc == OTHER, order.get(bloc, len(order)), bloc)

    return tuple(BlocGroup(b, tuple(names)) for b, names in sorted(groups.items(), key=lambda kv: rank(kv[0])))
