"""A folder of article files (.txt, .md, .html/.htm), read recursively."""

from __future__ import annotations

import logging
from pathlib import Path

from briefing.exceptions import ExtractionError
from briefing.extract import KINDS, decode
from briefing.sources import FetchState, SourceOutcome
from briefing.types import RawItem

log = logging.getLogger(__name__)

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
        for location, reason in skipped:
            log.warning("skipped %s: %s", location, reason)
        return SourceOutcome(self.name, items=tuple(items), skipped=tuple(skipped))


def iter_documents(root: Path, skipped: list[tuple[str, str]]) -> list[Path]:
    """Article files under ``root``, sorted; hidden files and folders are ignored.

    Files with other suffixes are recorded in ``skipped`` so nothing vanishes unseen.
    """
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() in KINDS:
            found.append(path)
        else:
            skipped.append((str(path), f"unsupported file type {path.suffix or '(none)'}"))
    return found


def read_document(path: Path, source: str) -> RawItem:
    """Read one file as a RawItem.

    Raises:
        ExtractionError: unreadable, too large, binary or undecodable.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ExtractionError(str(path), f"file too large ({size} bytes)")
        data = path.read_bytes()
    except OSError as exc:
        raise ExtractionError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    return RawItem(source=source, location=str(path), body=decode(data, str(path)),
                   kind=KINDS[path.suffix.lower()])
