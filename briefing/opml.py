"""OPML: read the feed subscriptions other readers export, and merge them into a feeds file."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from briefing.config import load_yaml
from briefing.exceptions import ConfigError
from briefing.urls import canonical_url, is_http_url


@dataclass(frozen=True)
class Subscription:
    name: str
    url: str


def read_opml(path: Path) -> list[Subscription]:
    """Every outline with an http(s) ``xmlUrl``, at any depth, in document order.

    Raises:
        ConfigError: the file is unreadable or not OPML.
    """
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise ConfigError(f"not a readable OPML file: {exc}", path=str(path)) from exc
    if root.tag.lower() != "opml":
        raise ConfigError(f"root element is <{root.tag}>, not <opml>", path=str(path))
    out = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if is_http_url(url):
            title = (outline.get("title") or outline.get("text") or urlsplit(url).hostname or "feed").strip()
            out.append(Subscription(title, url))
    return out


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "feed"


def merge_feeds(feeds_file: Path, subscriptions: list[Subscription], taken_names: set[str],
                taken_urls: set[str]) -> tuple[list[Subscription], int]:
    """Add subscriptions not yet configured to ``feeds_file``; returns (added, already present).

    Names are made unique against ``taken_names``; URLs compare in canonical form.
    """
    data = load_yaml(feeds_file.read_text(encoding="utf-8")) if feeds_file.exists() else None
    sources = list((data or {}).get("sources") or [])
    names = set(taken_names) | {str(s.get("name")) for s in sources if isinstance(s, dict)}
    urls = {canonical_url(u) for u in taken_urls} | {
        canonical_url(str(s.get("feed"))) for s in sources if isinstance(s, dict) and s.get("feed")}
    added: list[Subscription] = []
    present = 0
    for sub in subscriptions:
        if canonical_url(sub.url) in urls:
            present += 1
            continue
        name, n = slug(sub.name), 2
        while name in names:
            name, n = f"{slug(sub.name)}-{n}", n + 1
        names.add(name)
        urls.add(canonical_url(sub.url))
        sources.append({"name": name, "feed": sub.url})
        added.append(Subscription(name, sub.url))
    if added:
        feeds_file.parent.mkdir(parents=True, exist_ok=True)
        header = "# Feeds added by `briefing feeds import`; read with the config's own sources.\n"
        feeds_file.write_text(header + yaml.safe_dump({"sources": sources}, allow_unicode=True, sort_keys=False),
                              encoding="utf-8")
    return added, present
