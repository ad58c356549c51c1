"""How a run's tasks are handed out: which runner, how a step is submitted, what flows down.

A step is one task, or one task per partition of its list input (then, for a
step that stages its slices, one commit task after them). Upstream futures go
to downstream tasks as they are, so Prefect records the dependency and the
runner, not the flow body, moves the data.
"""

from __future__ import annotations

from typing import Any

from prefect import Task
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import opaque

from ragline.compiler.partitions import (
    CommittedFuture,
    Part,
    PartitionedFuture,
    part_count,
    partition_of,
)
from ragline.compiler.plan import PlannedStep
from ragline.compiler.records import StepResult
from ragline.compiler.run_context import RunContext
from ragline.spec.model import Workflow


def submit_step(
    ctx: RunContext,
    task: Task[..., StepResult],
    p: PlannedStep,
    futures: dict[str, Any],
    commit: Task[..., StepResult] | None = None,
    **arguments: Any,
) -> Any:
    """Submit a step as one task, or as one task per partition of its list input.

    A step type that stages its slices (`index`) gets one more task after them,
    `commit`, whose result is the step's output.
    """
    spec = p.spec
    step_type = ctx.registry.get(spec.uses)
    workflow = ctx.workflow
    partition = partition_of(spec, step_type, workflow)
    upstream = {dep: handover(futures[dep], workflow) for dep in sorted(p.after)}
    if partition is None:
        return task.submit(upstream=upstream, **arguments)
    length = None
    if partition.size is not None:  # how many slices depends on the list: wait for it
        resolved = {dep: futures[dep].result() for dep in sorted(p.after)}
        config = ctx.step_config(spec, step_type, resolved, arguments["inputs"])
        length = len(getattr(config, str(step_type.partition)))
    count = part_count(partition, length)
    parts = PartitionedFuture(
        [
            task.with_options(task_run_name=f"{spec.id}[{i}]").submit(
                upstream=upstream, part=Part(i, count), **arguments
            )
            for i in range(count)
        ]
    )
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
