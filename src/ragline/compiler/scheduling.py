"""How a run's tasks are handed out: which runner, how a step is submitted, what flows down.

A step is one task, or one task per partition of its list input (then, for a
step that stages its slices, one commit task after them). Upstream futures go
to downstream tasks as they are, so Prefect records the dependency and the
runner, not the flow body, moves the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prefect import Task
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import opaque

from ragline.compiler.outcomes import outcome
from ragline.compiler.partitions import (
    CommittedFuture,
    Part,
    PartitionedFuture,
    part_count,
    partition_of,
)
from ragline.compiler.placement import Placement
from ragline.compiler.plan import PlannedStep, references
from ragline.compiler.records import StepResult
from ragline.compiler.run_context import RunContext
from ragline.spec.expressions import Reference, is_expression, references_in
from ragline.spec.model import Workflow

if TYPE_CHECKING:
    from ragline.sdk.step import StepType
    from ragline.spec.model import Partition


def submit_step(
    ctx: RunContext,
    task: Task[..., StepResult],
    p: PlannedStep,
    futures: dict[str, Any],
    commit: Task[..., StepResult] | None = None,
    placement: Placement | None = None,
    **arguments: Any,
) -> Any:
    """Submit a step as one task, or as one task per partition of its list input.

    A step type that stages its slices (`index`) gets one more task after them,
    `commit`, whose result is the step's output. On a Dask cluster each slice
    prefers its block's worker (`placement`).
    """
    spec = p.spec
    step_type = ctx.registry.get(spec.uses)
    workflow = ctx.workflow
    partition = partition_of(spec, step_type, workflow)
    upstream = {dep: handover(futures[dep], workflow) for dep in sorted(p.after)}
    if partition is None:
        return task.submit(upstream=upstream, **arguments)
    source, slices = shares(ctx, p, partition, futures, arguments["inputs"])
    placement = placement or Placement()
    submitted = []
    for share in slices:
        given = dict(upstream)
        if source is not None and share.upstream is not None:
            given[source] = [handover(futures[source].parts[j], workflow) for j in share.upstream]
        named = task.with_options(task_run_name=f"{spec.id}[{share.part.index}]")
        with placement.near(share.part):
            submitted.append(named.submit(upstream=given, part=share.part, **arguments))
    parts = PartitionedFuture(submitted)
    if commit is None:
        return parts
    return CommittedFuture(
        parts.parts,
        commit.submit(
            parts=handover(parts, workflow),
            inputs=arguments["inputs"],
            run_id=arguments["run_id"],
        ),
    )


@dataclass(frozen=True)
class Share:
    """One slice's task: its `Part`, and which of the source's slices it is handed (None: all)."""

    part: Part
    upstream: list[int] | None = None


def shares(
    ctx: RunContext,
    p: PlannedStep,
    partition: Partition,
    futures: dict[str, Any],
    inputs: dict[str, Any],
) -> tuple[str | None, list[Share]]:
    """How a partitioned step's list is cut, and which upstream slices each cut receives.

    When the partitioned field is a partitioned step's whole output (`chunks: ${{
    steps.embed.output }}`) and that step is read nowhere else in `with:`, a slice
    receives only the upstream slices that hold its items, not the whole list: with
    the same `count`, slice i gets upstream slice i as it is, without waiting for the
    others; otherwise the upstream slices' lengths (small summaries from where they
    ran) say which ones each slice overlaps. In any other shape every slice receives
    the whole upstream and takes its bounds (and `size:` fetches the list to count it).
    """
    step_type = ctx.registry.get(p.spec.uses)
    source = sole_source(p, step_type)
    upstream = futures.get(source) if source is not None else None
    if isinstance(upstream, PartitionedFuture):
        k = len(upstream.parts)
        if partition.count == k:
            return source, [Share(Part(i, k, (0, None)), [i]) for i in range(k)]
        lengths = [outcome(part, full=False).length for part in upstream.parts]
        if all(n is not None for n in lengths):
            return source, windows(partition, [n or 0 for n in lengths])
    if partition.count is not None:
        return None, [Share(Part(i, partition.count)) for i in range(partition.count)]
    length = None
    if upstream is not None and not isinstance(upstream, PartitionedFuture):
        length = outcome(upstream, full=False).length
    if length is None:  # the list is an expression over several outputs: resolve it here
        resolved = {dep: outcome(futures[dep], full=True).result for dep in sorted(p.after)}
        if any(r is None for r in resolved.values()):  # an upstream failed: so will this
            return None, [Share(Part(0, 1))]
        config = ctx.step_config(
            p.spec, step_type, {k: v for k, v in resolved.items() if v is not None}, inputs
        )
        length = len(getattr(config, str(step_type.partition)))
    count = part_count(partition, length)
    return None, [Share(Part(i, count)) for i in range(count)]


def windows(partition: Partition, lengths: list[int]) -> list[Share]:
    """Each slice's bounds in the joined list, as upstream slices plus a window in them."""
    total = sum(lengths)
    starts = [sum(lengths[:j]) for j in range(len(lengths))]
    count = part_count(partition, total)
    out = []
    for i in range(count):
        lo, hi = Part(i, count).bounds(total)
        held = [j for j, n in enumerate(lengths) if starts[j] < hi and starts[j] + n > lo]
        if not held:  # an empty slice (more slices than items): hand it nothing to do
            out.append(Share(Part(i, count, (0, 0)), [0]))
            continue
        offset = starts[held[0]]
        out.append(Share(Part(i, count, (lo - offset, hi - offset)), held))
    return out


def sole_source(p: PlannedStep, step_type: StepType) -> str | None:
    """The step whose whole output is the partitioned field, when `with:` reads it there only."""
    field_name = str(step_type.partition)
    info = step_type.config.model_fields.get(field_name)
    value = p.spec.with_.get(info.alias or field_name) if info else None
    if not is_expression(value):
        return None
    refs = [ref for _, ref in references_in(str(value))]
    ref = refs[0] if len(refs) == 1 else None
    if not isinstance(ref, Reference) or ref.kind != "steps" or ref.path:
        return None
    reads = [r for r in references(p.spec.with_) if r.kind == "steps" and r.name == ref.name]
    return ref.name if len(reads) == 1 else None


def task_runner(workflow: Workflow, step_count: int) -> Any:
    """Threads by default: steps spend their time waiting on models, stores and files.

    `execution.task_runner: dask` is chosen here too (see docs/scaling-out.md).
    """
    if workflow.execution.task_runner == "dask":
        from ragline.compiler.dask import dask_task_runner

        return dask_task_runner(workflow.execution)
    return ThreadPoolTaskRunner(max_workers=max(4, step_count))


def handover(future: Any, workflow: Workflow) -> Any:
    """An upstream future as a downstream task's input, resolved but never walked.

    Prefect walks every task input looking for futures to resolve and to record
    as dependencies; inside a step's output (thousands of chunks with their
    vectors) that walk cost seconds per step. `opaque` still waits for the
    future, resolves it and records the dependency, but does not look inside.
    Dask ships its own futures through the inputs, so its runner gets them bare.
    """
    if isinstance(future, CommittedFuture):  # downstream sees the commit's result
        return handover(future.commit, workflow)
    if isinstance(future, PartitionedFuture):  # downstream joins the slices in order
        return [handover(part, workflow) for part in future.parts]
    if workflow.execution.task_runner == "dask":
        return future
    return opaque(future)
