"""Task runners from the config: threads in this process, or a Dask cluster for big windows.

``runner.kind: dask`` with no ``address`` starts a local cluster of
``runner.workers`` processes for the run (one thread each: the work is
CPU-bound Python); with ``address`` it joins a running scheduler, whose
workers need Briefing installed.
"""

from __future__ import annotations

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from briefing.config import RunnerConfig


def task_runner(config: RunnerConfig) -> TaskRunner:
    if config.kind == "threads":
        return ThreadPoolTaskRunner(max_workers=config.workers)
    from prefect_dask.task_runners import DaskTaskRunner  # where it is defined (the package re-exports it untyped)

    if config.address:
        return DaskTaskRunner(address=config.address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": config.workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": ":0"})
