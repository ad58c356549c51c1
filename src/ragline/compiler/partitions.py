"""Partitioned steps: one step as N Prefect tasks, each over a slice of its list input.

A step type that maps a list item by item names that field (`@step(...,
partition="chunks")`); a workflow asks for `partition: {size: N}` or `{count: N}`.
Each slice is its own task run (`embed[0]`, `embed[1]`, ... in the UI), retried
and cached on its own: its cache key is the content of its slice, so a rerun
after an edit runs only the slices whose items changed. Downstream steps see one
output, the slices joined in order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ragline.compiler.fingerprint import digest
from ragline.compiler.records import StepResult

if TYPE_CHECKING:
    from ragline.sdk.step import StepType
    from ragline.spec.model import Partition, StepSpec, Workflow


@dataclass(frozen=True)
class Part:
    """Slice `index` of `count`: a task's share of a partitioned step's list.

    Without a `window` the task receives the whole list and takes its bounds in it.
    With one, it receives only the upstream slices that hold its items (see
    `scheduling.shares`), and `window` is where its items lie in those joined:
    `(start, None)` is all of them.
    """

    index: int
    count: int
    window: tuple[int, int | None] | None = None

    def bounds(self, length: int) -> tuple[int, int]:
        """Contiguous, in order, sizes differing by at most one item."""
        return (self.index * length // self.count, (self.index + 1) * length // self.count)


def partition_of(spec: StepSpec, step_type: StepType, workflow: Workflow) -> Partition | None:
    """The step's own `partition:`, else the defaults' when its type can partition."""
    if not step_type.partition:
        return None
    return spec.partition or workflow.defaults.partition


def slice_config(config: Any, step_type: StepType, part: Part) -> Any:
    """The config of one partition: its share of the step's list field."""
    field_name = str(step_type.partition)
    items = list(getattr(config, field_name))
    lo, hi = part.window if part.window is not None else part.bounds(len(items))
    return config.model_copy(update={field_name: items[lo:hi]})


def part_count(partition: Partition, length: int | None) -> int:
    if partition.count is not None:
        return partition.count
    assert partition.size is not None and length is not None
    return max(1, math.ceil(length / partition.size))


def joined(value: Any) -> Any:
    """An upstream value as one StepResult: partitions joined in order, or as it is."""
    if not isinstance(value, list):
        return value
    parts: list[StepResult] = value
    usage = [row for p in parts for row in p.metrics.get("model_usage", [])]
    metrics: dict[str, Any] = {"partitions": len(parts)}
    for p in parts:  # counts add up over the slices (embedded, reused, staged, ...)
        for key, value in p.metrics.items():
            if isinstance(value, int) and not isinstance(value, bool) and key != "partitions":
                metrics[key] = metrics.get(key, 0) + value
    if usage:
        metrics["model_usage"] = usage
    # A summary of the slices (outputs left on the workers, see `outcomes`) joins to None.
    summary = any(p.output is None for p in parts)
    return StepResult(
        output=None if summary else [item for p in parts for item in p.output],
        fingerprint=digest(*[p.fingerprint for p in parts]),
        duration_s=sum(p.duration_s for p in parts),
        metrics=metrics,
        attempt=max((p.attempt for p in parts), default=1),
    )


class PartitionedFuture:
    """The futures of a partitioned step's slices, in order (see `outcomes` for its outcome)."""

    def __init__(self, parts: list[Any]) -> None:
        self.parts = parts


class CommittedFuture:
    """A staged step's slices and the one commit after them; its output is the commit's."""

    def __init__(self, parts: list[Any], commit: Any) -> None:
        self.parts = parts
        self.commit = commit
