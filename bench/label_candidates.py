"""List candidate feed items for the Russia–China relevance labels (tests/data/relevance_labels.json).

Run by hand, from the checkout, with feedparser installed::

    python bench/label_candidates.py                       # one JSON line per entry: file, index, id, sides
    python bench/label_candidates.py --sides both --show   # also print the entry text (to the terminal only)
    python bench/label_candidates.py --check tests/data/relevance_labels.json

It walks ``../shared/data/feeds`` (or ``--root``) recursively and parses every file with feedparser 6
(``feedparser.parse(open(path, 'rb').read()).entries``). JSON files are read as JSON Feed when their
top-level ``version`` names jsonfeed.org (their ``items`` list is indexed instead, ``"format": "jsonfeed"``);
other JSON files are the fixtures' expected outputs and are skipped. Entries with no title and no
summary/content text are skipped.

Each entry gets ``sides``: which of ``russia`` / ``china`` its title + text mentions, by a small
keyword list (English, a few other European languages, Cyrillic and Chinese script). That is only a sieve
for choosing what to read; the labels themselves were set by a person reading each item.

The third-party text is never written anywhere: ``--show`` prints it to stdout for reading only.
``--check`` verifies that every labelled (file, index) resolves and that its ``id`` still matches.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser

DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "feeds"

RUSSIA = re.compile(
    r"\b(Russia|Russian|Russians|Moscow|Kremlin|Putin|Soviet|USSR|Lavrov|Russland|russisch\w*|Russie|Rússia|"
    r"Russlands|Russen|russe|russes|Rusia|ruso|rusa|russo|russa|russos|russi|Mosca|Moskau|Moscou|Moscú|Moskva|"
    r"Rosja|rosyjsk\w*|Rusko|rusk\w+|Kreml|Sowjet\w*|sovi[eé]tique\w*|sovietic\w*)\b|俄罗斯|俄|普京|莫斯科|苏联|"
    r"Росси|Российск|российск|Русск|русск|Москв|Кремл|Путин|СССР|Советск|советск",
)
CHINA = re.compile(
    r"\b(China|Chinese|Beijing|Xi|PRC|Sino\w*|Peking|chinesisch\w*|Chine|chinois\w*|Chinês|chinesa|Cina|cinese|"
    r"Chinas|Chinesen|chinesa|chinês|chinos?|chinas?|Pekings?|Pékin|Pequim|Pekín|Pechino|cinesi|"
    r"Chiny|chińsk\w*|Čína|čínsk\w*)\b|中国|北京|习近平|中俄|中方|华|"
    r"Китай|Китая|Китае|китайск|Пекин|КНР",
)
TAGS = re.compile(r"<[^>]+>")


def plain(s: str | None) -> str:
    return re.sub(r"\s+", " ", html.unescape(TAGS.sub(" ", s or ""))).strip()


def jsonfeed_items(path: Path) -> list[dict] | None:
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict) and "jsonfeed.org" in str(data.get("version", "")):
        items = data.get("items")
        return items if isinstance(items, list) else []
    return None


def entry_record(rel: str, index: int, e: Any, fmt: str | None) -> dict:
    if fmt == "jsonfeed":
        title = plain(e.get("title"))
        text = plain(e.get("content_html") or e.get("content_text") or e.get("summary"))
        ident = e.get("id") or e.get("url")
    else:
        title = plain(e.get("title"))
        parts = [c.get("value") for c in e.get("content", []) or []]
        text = plain(" ".join(p for p in [e.get("summary")] + parts if p))
        ident = e.get("id") or e.get("link")
    return {"file": rel, "index": index, "id": ident, "format": fmt, "title": title, "text": text}


def iter_entries(root: Path) -> Iterator[dict]:
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".json":
            items = jsonfeed_items(path)
            if items is None:
                continue
            for i, it in enumerate(items):
                if isinstance(it, dict):
                    yield entry_record(rel, i, it, "jsonfeed")
            continue
        if path.suffix not in {".xml", ".rss", ".atom", ""} and not path.name.endswith((".rss", ".atom")):
            continue
        try:
            parsed = feedparser.parse(path.read_bytes())
        except Exception as exc:  # noqa: BLE001 - a fixture that crashes the parser is just skipped
            print(f"skip {rel}: {exc!r}", file=sys.stderr)
            continue
        for i, e in enumerate(parsed.entries):
            yield entry_record(rel, i, e, None)


def sides(rec: dict) -> list[str]:
    blob = rec["title"] + " " + rec["text"]
    return [name for name, rx in (("russia", RUSSIA), ("china", CHINA)) if rx.search(blob)]


def resolve(root: Path, item: dict) -> dict | None:
    path = root / item["file"]
    if item.get("format") == "jsonfeed":
        items = jsonfeed_items(path) or []
        e = items[item["index"]] if item["index"] < len(items) else None
        return entry_record(item["file"], item["index"], e, "jsonfeed") if e is not None else None
    entries = feedparser.parse(path.read_bytes()).entries
    if item["index"] >= len(entries):
        return None
    return entry_record(item["file"], item["index"], entries[item["index"]], None)


def check(root: Path, labels_path: Path) -> int:
    items = json.loads(labels_path.read_text(encoding="utf-8"))["items"]
    bad = 0
    for it in items:
        rec = resolve(root, it)
        if rec is None:
            print(f"MISSING {it['file']}#{it['index']}")
            bad += 1
        elif it.get("id") is not None and rec["id"] != it["id"]:
            print(f"ID MISMATCH {it['file']}#{it['index']}: {rec['id']!r} != {it['id']!r}")
            bad += 1
        elif not (rec["title"] or rec["text"]):
            print(f"EMPTY {it['file']}#{it['index']}")
            bad += 1
    print(f"{len(items)} labelled items, {bad} problems")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--sides", choices=["any", "both", "one", "none", "all"], default="any")
    ap.add_argument("--show", action="store_true", help="print title and text (terminal only)")
    ap.add_argument("--check", type=Path, help="verify a labels file instead of listing")
    args = ap.parse_args(argv)
    if args.check:
        return check(args.root, args.check)
    for rec in iter_entries(args.root):
        if not (rec["title"] or rec["text"]):
            continue
        s = sides(rec)
        want = {
            "all": True, "any": bool(s), "both": len(s) == 2, "one": len(s) == 1, "none": not s,
        }[args.sides]
        if not want:
            continue
        out = {"file": rec["file"], "index": rec["index"], "id": rec["id"], "sides": s}
        if rec["format"]:
            out["format"] = rec["format"]
        if args.show:
            out["title"] = rec["title"]
            out["text"] = rec["text"][:1500]
        print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
