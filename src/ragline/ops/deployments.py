"""Build and apply the Prefect deployment of a workflow, idempotently.

A deployment carries a version that is a hash of everything it is made from
(the workflow file's bytes, its schedules, parameter schema, work pool, name
and code location). Applying a deployment whose stored version equals the new
hash touches nothing on the server, so re-deploying an unchanged workflow
leaves its `updated` time, schedules and scheduled runs as they were; any
change replaces the deployment through Prefect's upsert.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from ragline.ops.parameters import parameter_schema
from ragline.ops.project import CodeLocation, locate
from ragline.ops.schedules import deployment_schedules
from ragline.validation.workflow import LoadedWorkflow

Outcome = Literal["created", "updated", "unchanged", "resumed"]
PULL_STEP = "ragline.ops.entrypoint.use_workflow"
DEFAULT_NAME = "default"
# Bump when what a deployment is made of changes, so existing ones are updated.
LAYOUT = 2


@dataclass
class DeploymentPlan:
    """Everything one deployment is made of, computed before the server is touched."""

    loaded: LoadedWorkflow
    name: str
    work_pool: str | None
    location: CodeLocation
    schedules: list[Any]
    parameter_schema: dict[str, Any]
    version: str

    @property
    def flow_name(self) -> str:
        return self.loaded.workflow.name

    @property
    def full_name(self) -> str:
        return f"{self.flow_name}/{self.name}"

    @property
    def pull_steps(self) -> list[dict[str, Any]]:
        return [
            {
                PULL_STEP: {
                    "directory": str(self.location.project_dir),
                    "workflow": self.location.workflow_path,
                    "name": self.flow_name,
                    "inputs": list(self.loaded.workflow.inputs),
                }
            }
        ]


@dataclass(frozen=True)
class Applied:
    deployment_id: str
    outcome: Outcome
    plan: DeploymentPlan


def _version(loaded: LoadedWorkflow, parts: dict[str, Any]) -> str:
    h = hashlib.sha256(loaded.path.read_bytes())
    h.update(json.dumps(parts, sort_keys=True, default=str).encode())
    return f"ragline-{h.hexdigest()[:16]}"


def plan_deployment(
    loaded: LoadedWorkflow, *, name: str = DEFAULT_NAME, work_pool: str | None = None
) -> DeploymentPlan:
    """Check schedules with Prefect and find the code location; WorkflowError/ConfigError."""
    schedules = deployment_schedules(loaded)
    location = locate(loaded.path)
    schema = parameter_schema(loaded.workflow)
    version = _version(
        loaded,
        {
            "layout": LAYOUT,
            "name": name,
            "pool": work_pool,
            "inputs": list(loaded.workflow.inputs),
            "project": str(location.project_dir),
            "workflow": location.workflow_path,
            "entrypoint": location.entrypoint,
            "schedules": [s.model_dump(mode="json") for s in loaded.workflow.schedules],
            "schema": schema,
        },
    )
    return DeploymentPlan(loaded, name, work_pool, location, schedules, schema, version)


async def apply(client: Any, plan: DeploymentPlan) -> Applied:
    """Create or update the deployment.

    An unchanged deployment that is paused (`ragline serve` pauses its schedules
    when it stops, so the server does not pile up runs nobody executes) is
    resumed: deploying says "run this on its schedule".
    """
    from prefect.exceptions import ObjectNotFound

    try:
        existing = await client.read_deployment_by_name(plan.full_name)
    except ObjectNotFound:
        existing = None
    if existing is not None and existing.version == plan.version:
        if existing.paused:
            await client.resume_deployment(existing.id)
            return Applied(str(existing.id), "resumed", plan)
        return Applied(str(existing.id), "unchanged", plan)

    flow_id = await client.create_flow_from_name(plan.flow_name)
    workflow = plan.loaded.workflow
    deployment_id = await client.create_deployment(
        flow_id=flow_id,
        name=plan.name,
        version=plan.version,
        schedules=plan.schedules,
        parameters={},
        description=workflow.description or f"ragline workflow {workflow.name}",
        work_pool_name=plan.work_pool,
        tags=["ragline"],
        path=str(plan.location.project_dir),
        entrypoint=plan.location.entrypoint,
        parameter_openapi_schema=plan.parameter_schema,
        paused=False,
        pull_steps=plan.pull_steps,
        enforce_parameter_schema=True,
    )
    if plan.work_pool is None and existing is not None and existing.work_pool_name:
        # Served from now on: a worker of the old pool must not pick its runs up too.
        from prefect.client.schemas.actions import DeploymentUpdate

        await client.update_deployment(deployment_id, DeploymentUpdate(work_pool_name=None))
    return Applied(str(deployment_id), "created" if existing is None else "updated", plan)


async def check_work_pool(client: Any, pool: str) -> None:
    """ConfigError unless the work pool exists: deploying to a missing pool strands runs."""
    from prefect.exceptions import ObjectNotFound

    from ragline.errors import ConfigError

    try:
        await client.read_work_pool(pool)
    except ObjectNotFound:
        raise ConfigError(
            f"work pool '{pool}' does not exist on the Prefect server; nothing was deployed",
            hint=f"create it: prefect work-pool create {pool} --type process",
        ) from None
