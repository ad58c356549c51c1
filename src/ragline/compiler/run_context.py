"""What the tasks of one compiled workflow share, in whichever process they run.

A step task that travels to a Dask worker process is pickled, and its
`RunContext` with it: it pickles as the validated workflow alone (a few KB)
and becomes, in each process, one `RunContext` per workflow that builds that
process's services (model router, caches, store connections) on first use and
reuses them for every task of the run there. In the process that compiled it,
it stays itself, so thread workers share the run's services.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ragline.compiler.fingerprint import digest
from ragline.compiler.values import resolve_with, run_scope
from ragline.llm.secrets import register_workflow_secrets
from ragline.sdk.context import RunInfo, RunServices, StepContext
from ragline.sdk.registry import Registry

if TYPE_CHECKING:
    from ragline.compiler.records import StepResult
    from ragline.sdk.step import StepType
    from ragline.spec.model import StepSpec, Workflow
    from ragline.validation.workflow import LoadedWorkflow

# A worker process keeps the services of this many recent runs of a workflow; older
# ones are closed (the run's own process closes its services when the run ends).
_WORKER_RUNS_KEPT = 4


@dataclass
class RunContext:
    """The validated workflow, its step types, and the services of its runs in this process."""

    loaded: LoadedWorkflow
    registry: Registry
    services_by_run: dict[str, RunServices] = field(default_factory=dict)
    travelled: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def workflow(self) -> Workflow:
        return self.loaded.workflow

    def services(self, run_id: str) -> RunServices:
        with self._lock:
            services = self.services_by_run.get(run_id)
            if services is None:
                services = self.services_by_run[run_id] = RunServices()
                stale = list(self.services_by_run)[:-_WORKER_RUNS_KEPT] if self.travelled else []
                for old in stale:
                    self.services_by_run.pop(old).close()
            return services

    def close_run(self, run_id: str) -> None:
        """At the end of a run in the process that compiled it: close that run's services."""
        services = self.services_by_run.pop(run_id, None)
        if services is not None:
            services.close()

    def step_config(
        self,
        spec: StepSpec,
        step_type: StepType,
        upstream: dict[str, StepResult],
        inputs: dict[str, Any],
    ) -> Any:
        """The step's `with:` resolved against the run's inputs and upstream outputs, typed."""
        outputs = {k: v.output for k, v in upstream.items()}
        scope = run_scope(inputs, outputs, self.workflow.secret_env)
        return step_type.config.model_validate(resolve_with(spec.with_, scope, step_type.config))

    def step_context(self, spec: StepSpec, run_id: str, inputs: dict[str, Any]) -> StepContext:
        return StepContext(
            step_id=spec.id,
            workflow=self.workflow,
            workflow_dir=self.loaded.directory,
            run=RunInfo(run_id=run_id, flow_name=self.workflow.name, parameters=inputs),
            services=self.services(run_id),
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Absolute: a worker's current directory is not the driver's (`ragline run wf.yaml`).
        where = dataclasses.replace(self.loaded, path=self.loaded.path.resolve())
        return (context_in_this_process, (where,))


_BY_WORKFLOW: dict[str, RunContext] = {}
_BY_WORKFLOW_LOCK = threading.Lock()


def _workflow_key(loaded: LoadedWorkflow) -> str:
    workflow = loaded.workflow.model_dump(mode="json", by_alias=True)
    return digest(str(loaded.path.resolve()), workflow)


def compiled_context(loaded: LoadedWorkflow, registry: Registry) -> RunContext:
    """A new context for a workflow being compiled here; a task unpickled here finds it."""
    ctx = RunContext(loaded, registry)
    with _BY_WORKFLOW_LOCK:
        _BY_WORKFLOW[_workflow_key(loaded)] = ctx
    return ctx


def context_in_this_process(loaded: LoadedWorkflow) -> RunContext:
    """The `RunContext` of a workflow in this process: the compiler's own, or one built here."""
    key = _workflow_key(loaded)
    with _BY_WORKFLOW_LOCK:
        ctx = _BY_WORKFLOW.get(key)
        if ctx is None:
            ctx = _BY_WORKFLOW[key] = RunContext(loaded, Registry(), travelled=True)
            # A worker process masks the secrets its own environment resolves, too.
            register_workflow_secrets(loaded.workflow)
        return ctx
