"""Briefing: ingest news from feeds and folders, keep one topic, and digest it by email.

The domain library. It never imports ``prefect`` or ``flows``; the flows and
the CLI wrap it. Public names are re-exported here.
"""

from __future__ import annotations

__version__ = "0.1.0"

import importlib
from typing import TYPE_CHECKING, Any

# Public name → the module that defines it. Loaded on first use (PEP 562), so ``import briefing`` and a
# stage command's start-up do not pay for scikit-learn, SQLAlchemy and jieba they may never touch.
_EXPORTS = {
    "briefing.clean": ("Cleaned", "clean_text", "derive_title"),
    "briefing.config": ("Config", "load_config"),
    "briefing.dates": ("parse_dateline", "parse_datetime"),
    "briefing.dedupe": ("duplicate_groups", "story_groups"),
    "briefing.digest": ("Window", "build_digest", "plan_window"),
    "briefing.exceptions": ("BriefingError", "ConfigError", "DeliveryError", "ExtractionError", "FetchError",
                            "ParseError", "RenderError", "SourceError", "StorageError"),
    "briefing.extract": ("to_article",),
    "briefing.relevance": ("Topic", "load_topic", "score"),
    "briefing.store": ("Store",),
    "briefing.summarize": ("summarize",),
    "briefing.types": ("Article", "Digest", "Evidence", "RawItem", "Relevance", "Sentence", "SourceHealth",
                       "Story"),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

if TYPE_CHECKING:
    from briefing.clean import Cleaned, clean_text, derive_title
    from briefing.config import Config, load_config
    from briefing.dates import parse_dateline, parse_datetime
    from briefing.dedupe import duplicate_groups, story_groups
    from briefing.digest import Window, build_digest, plan_window
    from briefing.exceptions import (
        BriefingError,
        ConfigError,
        DeliveryError,
        ExtractionError,
        FetchError,
        ParseError,
        RenderError,
        SourceError,
        StorageError,
    )
    from briefing.extract import to_article
    from briefing.relevance import Topic, load_topic, score
    from briefing.store import Store
    from briefing.summarize import summarize
    from briefing.types import Article, Digest, Evidence, RawItem, Relevance, Sentence, SourceHealth, Story


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'briefing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Article", "BriefingError", "Cleaned", "Config", "ConfigError", "DeliveryError", "Digest", "Evidence",
    "ExtractionError", "FetchError", "ParseError", "RawItem", "Relevance", "RenderError", "Sentence",
    "SourceError", "SourceHealth", "StorageError", "Store", "Story", "Topic", "Window", "__version__",
    "build_digest", "clean_text", "derive_title", "duplicate_groups", "load_config", "load_topic",
    "parse_dateline", "parse_datetime", "plan_window", "score", "story_groups", "summarize", "to_article",
]
