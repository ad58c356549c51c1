"""`execution: {task_runner: dask, workers: N}`: steps run on a local Dask cluster.

prefect-dask's DaskTaskRunner starts a LocalCluster for the run and tears it
down after. Its workers are threads of this process (`processes=False`): the
compiled steps share the run's services (model router, caches, store
connections, locks), which live in this process and do not pickle (Dask
serializes what it ships to worker processes, even on one machine). What Dask
adds over the default thread pool is its scheduler and a bounded worker count;
the same workflow gives the same results on either runner.
"""

from __future__ import annotations

from typing import Any


def dask_task_runner(workers: int) -> Any:
    """A DaskTaskRunner on a LocalCluster of `workers` single-threaded in-process workers."""
    try:
        from prefect_dask.task_runners import DaskTaskRunner
    except ImportError as err:  # an optional extra on some installs
        from ragline.errors import ConfigError

        raise ConfigError(
            f"execution.task_runner is 'dask' but prefect-dask cannot be imported ({err})",
            hint="pip install prefect-dask, or remove `execution: {task_runner: dask}`",
        ) from None
    import logging

    chatty = logging.getLogger("distributed")
    if chatty.level == logging.NOTSET:  # the cluster's start and stop fill a screen at INFO
        chatty.setLevel(logging.WARNING)
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": False,
            # Its HTTP endpoint binds anyway: a free loopback port, never a fixed one.
            "dashboard_address": "127.0.0.1:0",
        },
    )
