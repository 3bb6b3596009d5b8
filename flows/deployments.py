"""Scheduled runs: serve the ``briefing`` flow on a cron schedule (``briefing serve``).

``prefect`` runs the schedule from this long-lived process; a manual run is
``briefing run`` or a "Quick run" of the deployment in the Prefect UI.
"""

from __future__ import annotations

from pathlib import Path

from prefect import serve

from flows.briefing import briefing_flow
from flows.digest import digest_flow
from flows.ingest import ingest_flow


def serve_all(config_path: str, cron: str = "0 6 * * *", ingest_cron: str | None = "0 * * * *") -> None:
    """Run until stopped: the digest on ``cron``; ingest alone on ``ingest_cron``."""
    params = {"config_path": str(Path(config_path).resolve())}
    deployments = [briefing_flow.to_deployment(name="briefing-scheduled", cron=cron, parameters=params),
                   digest_flow.to_deployment(name="digest-manual", parameters=params)]
    if ingest_cron:
        deployments.append(ingest_flow.to_deployment(name="ingest-scheduled", cron=ingest_cron,
                                                     parameters=params))
    serve(*deployments)
