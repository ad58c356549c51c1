"""When a step's result is reusable: the cache key Prefect's cache policy asks for.

A key covers what the step reads (its type and version, its `with:`, the inputs
and upstream outputs it names, the environment it reads), what stands behind
the model aliases it names, and whatever its own `fingerprint` hook adds (the
files a glob matches). `needs` only orders: it is not part of the key.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ragline.compiler.fingerprint import content_digest, digest
from ragline.compiler.plan import PlannedStep, env_values
from ragline.sdk.step import AliasOf, StepType
from ragline.spec.expressions import resolve

if TYPE_CHECKING:
    from ragline.compiler.partitions import Part
    from ragline.compiler.records import StepResult
    from ragline.compiler.run_context import RunContext


def seed(ctx: RunContext, planned: PlannedStep, step_type: StepType, inputs: dict[str, Any]) -> str:
    """The part of a step's key known before the run: type, config, inputs it reads, workflow.

    The workflow file is part of it: two workflows of one folder with the same
    step do not share its cached result (each has its own models and stores).
    """
    spec = planned.spec
    return digest(
        step_type.name,
        step_type.version,
        str(ctx.loaded.path.resolve()),
        ctx.workflow.name,
        spec.with_,
        {k: inputs.get(k) for k in sorted(planned.input_refs)},
        env_values(planned.env_refs),
    )


def step_key(
    ctx: RunContext,
    planned: PlannedStep,
    step_type: StepType,
    seed: str,
    upstream: dict[str, StepResult],
    inputs: dict[str, Any],
    run_id: str,
) -> str:
    """The step's cache key: its seed, what stands behind the model aliases it names, the
    fingerprints of the steps whose output it reads (`needs` only orders), and its own hook."""
    spec = planned.spec
    extra = ""
    if step_type.fingerprint is not None:
        config = ctx.step_config(spec, step_type, upstream, inputs)
        extra = step_type.fingerprint(config, ctx.step_context(spec, run_id, inputs))
    reads = {k: upstream[k].fingerprint for k in sorted(planned.reads)}
    return digest(seed, model_identities(ctx, planned, step_type, upstream, inputs), reads, extra)


def slice_key(
    ctx: RunContext,
    planned: PlannedStep,
    step_type: StepType,
    seed: str,
    upstream: dict[str, StepResult],
    inputs: dict[str, Any],
    part: Part,
) -> str:
    """A partition's key: its own slice's content, not the whole list's."""
    from ragline.compiler.partitions import slice_config

    config = slice_config(
        ctx.step_config(planned.spec, step_type, upstream, inputs), step_type, part
    )
    return digest(
        seed,
        model_identities(ctx, planned, step_type, upstream, inputs),
        content_digest(config.model_dump(mode="json")),
    )


def model_identities(
    ctx: RunContext,
    planned: PlannedStep,
    step_type: StepType,
    upstream: dict[str, StepResult],
    inputs: dict[str, Any],
) -> dict[str, str]:
    """field -> identity of the model alias it names, for every `ModelAlias` field of the config."""
    from ragline.llm.identity import alias_identity

    out: dict[str, str] = {}
    for name, info in step_type.config.model_fields.items():
        if not any(isinstance(m, AliasOf) and m.section == "models" for m in info.metadata):
            continue
        alias = planned.spec.with_.get(info.alias or name)
        if isinstance(alias, str) and "${{" in alias:
            scope = {
                "inputs": inputs,
                "steps": {k: v.output for k, v in upstream.items()},
                "env": os.environ,
            }
            alias = resolve(alias, scope)
        if isinstance(alias, str):
            out[name] = alias_identity(ctx.workflow, alias)
    return out
