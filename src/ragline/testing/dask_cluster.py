"""A real Dask cluster on loopback for tests and benchmarks: one `dask scheduler`
process and N `dask worker` processes, started and stopped like a user would.

Standard library only at import time, so a conftest can import it cheaply.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ragline.testing.prefect_server import free_port


@dataclass
class LocalDaskCluster:
    address: str
    scheduler: subprocess.Popen[bytes]
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    log_dir: Path = Path(".")

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
            for p in sorted(self.log_dir.glob("*.log"))
        )


def _dask_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "distributed.cli.dask_" + args[0], *args[1:]]


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the dask scheduler exited while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the dask scheduler did not listen on {port} within {timeout:.0f} s")


def _wait_for_workers(address: str, count: int, timeout: float) -> None:
    from distributed import Client

    client = Client(address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
    with client:
        client.wait_for_workers(count, timeout=timeout)


@contextmanager
def local_dask_cluster(
    log_dir: Path,
    *,
    workers: int = 2,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> Iterator[LocalDaskCluster]:
    """`dask scheduler` plus `workers` single-threaded `dask worker` processes on 127.0.0.1,
    with the settings ragline gives the workers it starts (`compiler.dask.QUIET_WORKERS`)."""
    from ragline.compiler.dask import quiet_workers_env

    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    child_env = {**quiet_workers_env(), **os.environ, **(env or {})}
    scheduler_log = open(log_dir / "scheduler.log", "w")  # noqa: SIM115 (closed below)
    scheduler = subprocess.Popen(
        [
            *_dask_command("scheduler", "--host", "127.0.0.1", "--port", str(port)),
            *("--dashboard-address", "127.0.0.1:0"),
        ],
        stdout=scheduler_log,
        stderr=subprocess.STDOUT,
        env=child_env,
    )
    cluster = LocalDaskCluster(address, scheduler, log_dir=log_dir)
    logs = [scheduler_log]
    try:
        _wait_for_port(port, scheduler, timeout)
        for i in range(workers):
            log = open(log_dir / f"worker-{i}.log", "w")  # noqa: SIM115 (closed below)
            logs.append(log)
            cluster.workers.append(
                subprocess.Popen(
                    [
                        *_dask_command("worker", address),
                        *("--nworkers", "1", "--nthreads", "1", "--no-dashboard"),
                        *("--host", "127.0.0.1", "--name", f"worker-{i}"),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=child_env,
                )
            )
        try:
            _wait_for_workers(address, workers, timeout)
        except Exception as err:
            raise RuntimeError(f"the dask cluster did not start: {err}\n{cluster.logs()}") from err
        yield cluster
    finally:
        for proc in [*cluster.workers, scheduler]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*cluster.workers, scheduler]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
