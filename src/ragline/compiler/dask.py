"""`execution: {task_runner: dask, ...}`: a run's steps on a Dask cluster.

Three shapes, all through prefect-dask's DaskTaskRunner:

- `address: tcp://HOST:8786` (or `env:NAME`, or RAGLINE_DASK_ADDRESS): an existing
  cluster (`dask scheduler` plus `dask worker` processes on this or other machines);
- `workers: N` (processes, the default): a LocalCluster of N single-threaded worker
  processes started for the run and stopped after it;
- `workers: N, processes: false`: the same cluster as threads of the run's process.

A step task travels to a worker process as a pickle: the compiled workflow inside
it pickles as a small description (see `compiler.travel`), and the worker builds
the run's services (model router, caches, store connections) itself, once per
worker process and run.
"""

from __future__ import annotations

import os
import socket
from typing import Any
from urllib.parse import urlsplit

from ragline.errors import ConfigError
from ragline.spec.model import DASK_ADDRESS_ENV, Execution

CONNECT_TIMEOUT_S = 5.0

# Dask settings for the workers ragline starts (docs/scaling-out.md gives them for
# workers a user starts), measured during a 2-worker ingestion:
# - Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its worker, which turns off
#   glibc's adaptive thresholds: every activation buffer of the model was mapped and
#   unmapped again (22% of a torch worker's time in page faults, and two workers
#   contending in the kernel). Left unset, glibc keeps them: torch encodes 1.27x as
#   fast (bench_encode_batch with and without the variable).
# - Dask's statistical profiler takes the GIL every 10 ms to sample the computing
#   thread (6% of a worker's CPU, 2.3% without it); nothing of ragline reads it. The
#   memory and system monitors poll psutil every 100 and 500 ms; 1 s and 2 s will do.
# - Every scheduler, nanny and worker wakes its event loop every 20 ms only to time
#   the wake-up (a health metric, `distributed.admin.tick`; a blocked loop is still
#   reported after 3 s). An idle 2-worker cluster took 2.9 s of CPU per 30 s that way,
#   0.7 s with 200 ms (CPU of each process over 30 s, read with psutil).
_ENVIRON = "distributed.nanny.pre-spawn-environ"
QUIET_WORKERS: dict[str, Any] = {
    f"{_ENVIRON}.MALLOC_TRIM_THRESHOLD_": None,  # None: not set in the worker
    "distributed.worker.profile.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "200ms",
}


def _env_name(key: str) -> str:
    return "DASK_" + key.upper().replace(".", "__").replace("-", "_")


def quiet_workers_env() -> dict[str, str]:
    """`QUIET_WORKERS` as the environment of a `dask worker` or `dask scheduler` process."""
    env: dict[str, str] = {}
    environ: dict[str, Any] = {}  # a nanny's variables keep their case: one literal
    for key, value in QUIET_WORKERS.items():
        parent, _, name = key.rpartition(".")
        if parent == _ENVIRON:
            environ[name] = value
        else:
            env[_env_name(key)] = str(value)
    if environ:
        env[_env_name(_ENVIRON)] = repr(environ)
    return env


def quiet_local_cluster(**kwargs: Any) -> Any:
    """A LocalCluster made under `QUIET_WORKERS`: its nannies read them when they are made
    and hand them to their worker processes."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(QUIET_WORKERS):
        return LocalCluster(**kwargs)  # type: ignore[no-untyped-call]


def scheduler_address(execution: Execution) -> str | None:
    """The address of an existing scheduler to use, or None for a cluster of our own."""
    override = os.environ.get(DASK_ADDRESS_ENV, "").strip()
    if override:
        return override
    address = execution.address
    if address is None:
        return None
    if address.startswith("env:"):
        name = address.removeprefix("env:")
        value = os.environ.get(name, "").strip()
        if not value:
            raise ConfigError(
                f"execution.address is {address} but the environment variable {name} is not set",
                hint=f"export {name}=tcp://HOST:8786 (the Dask scheduler), or set the address",
            )
        return value
    return address


def check_scheduler(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Fail in seconds, naming the address, when nothing listens there.

    Dask's own client waits for its connect timeout and then raises an OSError
    deep inside the flow run; this check runs before anything is submitted.
    """
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    host, port = parts.hostname, parts.port
    if parts.scheme not in ("tcp", "tls") or not host or not port:
        raise ConfigError(
            f"the Dask scheduler address {address!r} is not tcp://HOST:PORT",
            hint="give the address `dask scheduler` prints, e.g. tcp://10.0.0.5:8786",
        )
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as err:
        raise ConfigError(
            f"the Dask scheduler at {address} does not answer ({err}); the workflow did not run",
            hint="start it with `dask scheduler` (and workers with `dask worker ADDRESS`), "
            f"or fix execution.address / {DASK_ADDRESS_ENV}",
        ) from None


def dask_task_runner(execution: Execution) -> Any:
    """The DaskTaskRunner for a workflow's `execution:` section."""
    try:
        from prefect_dask.task_runners import DaskTaskRunner
    except ImportError as err:  # an optional extra on some installs
        raise ConfigError(
            f"execution.task_runner is 'dask' but prefect-dask cannot be imported ({err})",
            hint="pip install prefect-dask, or remove `execution: {task_runner: dask}`",
        ) from None
    import logging

    chatty = logging.getLogger("distributed")
    if chatty.level == logging.NOTSET:  # the cluster's start and stop fill a screen at INFO
        chatty.setLevel(logging.WARNING)
    address = scheduler_address(execution)
    if address is not None:
        check_scheduler(address)
        return DaskTaskRunner(address=address)
    cluster_kwargs: dict[str, Any] = {
        "n_workers": execution.workers,
        "threads_per_worker": 1,
        "processes": execution.processes,
        # Its HTTP endpoint binds anyway: a free loopback port, never a fixed one.
        "dashboard_address": "127.0.0.1:0",
    }
    if execution.processes:  # worker processes talk TCP: on loopback only
        cluster_kwargs["host"] = "127.0.0.1"
    return DaskTaskRunner(cluster_class=quiet_local_cluster, cluster_kwargs=cluster_kwargs)
