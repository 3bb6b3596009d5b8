"""A folder of article files (.txt, .md, .html/.htm), read recursively."""

from __future__ import annotations

import os
import re
import stat
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from briefing.dates import parse_datetime
from briefing.exceptions import ExtractionError, one_line
from briefing.extract import KINDS, decode
from briefing.sources import FetchState, SourceOutcome
from briefing.types import RawItem
from briefing.urls import is_http_url

MAX_FILE_BYTES = 20 * 1024 * 1024


class FolderSource:
    def __init__(self, name: str, folder: Path):
        self.name, self.folder = name, Path(folder)

    def fetch(self, state: FetchState = FetchState()) -> SourceOutcome:
        if not self.folder.is_dir():
            return SourceOutcome(self.name, error=f"folder not found: {self.folder}")
        items: list[RawItem] = []
        skipped: list[tuple[str, str]] = []
        for path in iter_documents(self.folder, skipped):
            try:
                items.append(read_document(path, self.name))
            except ExtractionError as exc:
                skipped.append((str(path), exc.message))
            except Exception as exc:  # one file a decoder chokes on must not cost the run
                skipped.append((str(path), f"unreadable: {type(exc).__name__}: {one_line(exc)}"))
        return SourceOutcome(self.name, items=tuple(items), skipped=tuple(skipped))


def iter_documents(root: Path, skipped: list[tuple[str, str]]) -> list[Path]:
    """Article files under ``root``, sorted; hidden files and folders are ignored.

    Files with other suffixes are recorded in ``skipped`` so nothing vanishes unseen.
    """
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or path.is_dir():
            continue
        if not path.is_file():  # a named pipe would block the read, a device never end; a dead link has no file
            skipped.append((str(path), f"not a regular file ({_file_kind(path)})"))
        elif path.suffix.lower() in KINDS:
            found.append(path)
        else:
            skipped.append((str(path), f"unsupported file type {path.suffix or '(none)'}"))
    return found


def _file_kind(path: Path) -> str:
    try:
        mode = path.stat().st_mode
    except OSError:
        return "a broken symbolic link" if path.is_symlink() else "unreadable"
    for test, name in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
                       (stat.S_ISBLK, "a device")):
        if test(mode):
            return name
    return "special file"


def read_document(path: Path, source: str) -> RawItem:
    """Read one file as a RawItem; never more than ``MAX_FILE_BYTES`` of it.

    Raises:
        ExtractionError: unreadable, too large, binary or undecodable.
    """
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise ExtractionError(str(path), f"file too large ({size:,} bytes; limit {MAX_FILE_BYTES:,})")
            data = fh.read(MAX_FILE_BYTES + 1)  # a file still growing stops at the cap too
        if len(data) > MAX_FILE_BYTES:
            raise ExtractionError(str(path), f"file too large (over {MAX_FILE_BYTES:,} bytes while read)")
    except OSError as exc:
        raise ExtractionError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    if not data.strip():
        raise ExtractionError(str(path), "empty file" if not data else "only whitespace, no text")
    kind = KINDS.get(path.suffix.lower())
    if kind is None:  # a stage command's explicit PATH; a folder lists only known suffixes
        hint = "; JSON Lines go in with --jsonl FILE" if path.suffix.lower() in (".jsonl", ".json") else ""
        raise ExtractionError(str(path), f"not a {', '.join(sorted(KINDS))} file{hint}")
    body = decode(data, str(path))
    if kind == "html":
        return RawItem(source=source, location=str(path), body=body, kind=kind)
    meta, body = front_matter(body)
    url = meta.get("url")
    return RawItem(source=source, location=url if isinstance(url, str) and is_http_url(url) else str(path),
                   body=body, kind=kind, title=_field(meta, "title"), published=_date(meta.get("published")),
                   outlet=_field(meta, "outlet"))


_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    """A leading YAML block (``---`` … ``---``, as static-site generators write) and the text after it.

    A block that is not a YAML mapping is left in the text: it was a rule, not front matter.
    """
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text
    if not isinstance(meta, dict):
        return {}, text
    return {str(k).lower(): v for k, v in meta.items()}, text[match.end():]


def _field(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    return " ".join(str(value).split()) or None if isinstance(value, (str, int, float)) else None


def _date(value: Any) -> datetime | None:
    """YAML gives a date, a datetime (naive: UTC) or a string."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError:
            return None
    return None
