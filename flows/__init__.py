"""Prefect flows wiring the ``briefing`` library: ingest, digest, and briefing (both).

Flows take plain parameters (a config path) and hold no domain logic; tasks
are thin wrappers over library calls, one per batch (a source, a window).
"""

from flows.briefing import briefing_flow
from flows.digest import digest_flow
from flows.ingest import ingest_flow

__all__ = ["briefing_flow", "digest_flow", "ingest_flow"]
