"""The parent flow: ingest every source, then make the digest."""

from __future__ import annotations

from dataclasses import replace

from prefect import flow

from flows.digest import DigestResult, digest_flow
from flows.ingest import ingest_flow


@flow(name="briefing", log_prints=True)
def briefing_flow(config_path: str) -> DigestResult:
    """Ingest every source, then make and deliver the digest; the result carries how each source fared.

    Args:
        config_path: The Briefing config file (YAML).
    """
    healths = ingest_flow(config_path)
    return replace(digest_flow(config_path), sources=tuple(healths))
