"""Where a partitioned step's slices run on a Dask cluster: spread over the workers, in
blocks that every partitioned step of the run shares.

Left to itself, Dask runs a task where its input lies. A partitioned step's slices
all read the one output of the step before them, so they all queued on the worker
that held it, and the other workers got slices only by stealing them: each steal
left the thief idle for about a second (measured in `bench_scale --timeline`), and
the next step's slice then had to fetch its input back from the first worker.

So slice `i` of `n` prefers worker `i * W // n` of the run's `W` workers (sorted by
address), for every partitioned step: `embed[i]` runs where `chunk[i]` ran and
`index[i]` where `embed[i]` did, and no vectors cross between workers. A preference
only (`allow_other_workers`): a worker that dies or is busy elsewhere does not hold a
slice back, and Dask still steals at the end of a step to even it out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ragline.compiler.partitions import Part


class Placement:
    """The workers a run's slices are spread over, as they were when the run started."""

    def __init__(self, workers: Sequence[str] = ()) -> None:
        self.workers = sorted(workers)

    @classmethod
    def of(cls, task_runner: Any) -> Placement:
        """The workers of a Dask task runner's cluster; none (no preference) for threads,
        which have no Dask client."""
        client = getattr(task_runner, "client", None)
        if client is None:
            return cls()
        return cls(client.scheduler_info().get("workers", {}))

    def worker_for(self, part: Part) -> str | None:
        if not self.workers:
            return None
        return self.workers[part.index * len(self.workers) // max(1, part.count)]

    @contextmanager
    def near(self, part: Part) -> Iterator[None]:
        """Tasks submitted inside prefer the worker of `part`'s block."""
        worker = self.worker_for(part)
        if worker is None:
            yield
            return
        from dask.base import annotate

        with annotate(workers=[worker], allow_other_workers=True):
            yield
