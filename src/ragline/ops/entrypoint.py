"""What a deployment runs: its pull step, and the flow `flows/run_workflow.py` hands Prefect.

Every ragline deployment has the same entrypoint, `flows/run_workflow.py:workflow`,
and one pull step, `use_workflow`, that names its workflow file and changes into
the project folder. The worker (or `ragline serve`) runs the pull step, then
imports the entrypoint, which compiles that workflow file as it is now: the
flow is named after the workflow and takes its inputs as parameters, exactly
like `ragline run`.

When the file is gone or no longer valid, the entrypoint still returns a flow,
one that fails at once with the reason: the run then ends Failed with a
message that says which file and what to do, instead of a crashed process
whose cause is only in the worker's log.

"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

from ragline.errors import ConfigError, RaglineError, WorkflowError

ENV_WORKFLOW = "RAGLINE_WORKFLOW"
ENV_NAME = "RAGLINE_WORKFLOW_NAME"
ENV_INPUTS = "RAGLINE_WORKFLOW_INPUTS"


def use_workflow(
    directory: str, workflow: str, name: str, inputs: list[str] | None = None
) -> dict[str, str]:
    """Prefect pull step: select the workflow file and change into the project folder.

    `inputs` (the names at deploy time) let a stand-in flow accept the run's
    parameters when the file itself cannot be read any more.
    """
    path = Path(workflow)
    if not path.is_absolute():
        path = Path(directory) / path
    os.environ[ENV_WORKFLOW] = str(path)
    os.environ[ENV_NAME] = name
    os.environ[ENV_INPUTS] = ",".join(inputs or [])
    if not Path(directory).is_dir():
        raise ConfigError(
            f"the project folder {directory} of workflow '{name}' does not exist on this "
            "machine; workers need the same checkout at the same path"
        )
    return {"directory": directory}


def _run_name(workflow_name: str) -> Any:
    def name() -> str:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
        return f"{workflow_name}-{stamp}"

    return name


def _failing_flow(name: str, message: str) -> Any:
    import inspect

    from prefect import Flow, get_run_logger
    from prefect.states import Failed

    def unavailable(**parameters: Any) -> Any:
        # A Failed state, not an exception: the message is the whole story, no traceback.
        get_run_logger().error(message)
        return Failed(message=message)

    names = [n for n in os.environ.get(ENV_INPUTS, "").split(",") if n.isidentifier()]
    unavailable.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=None) for n in names]
    )
    unavailable.__name__ = name.replace("-", "_").replace(".", "_")
    return Flow(unavailable, name=name, validate_parameters=False, persist_result=False)


def deployment_flow() -> Any:
    """The compiled flow of the workflow the pull step selected."""
    path = os.environ.get(ENV_WORKFLOW)
    if not path:
        raise ConfigError(
            f"{ENV_WORKFLOW} is not set: flows/run_workflow.py runs deployments made by "
            "`ragline deploy` or `ragline serve`, whose pull step sets it",
            hint="to run a workflow directly, use `ragline run PATH`",
        )
    name = os.environ.get(ENV_NAME) or Path(path).stem
    from ragline.validation.workflow import load_workflow

    if not Path(path).is_file():
        return _failing_flow(
            name,
            f"the workflow file {path} of this deployment no longer exists (moved or deleted "
            f"after `ragline deploy`): restore it, or deploy its new location with "
            f"`ragline deploy NEW_PATH` and delete this deployment "
            f"(`prefect deployment delete '{name}/<deployment>'`)",
        )
    try:
        loaded = load_workflow(path)
    except WorkflowError as err:
        return _failing_flow(
            name, f"the workflow file {path} is no longer valid; fix it:\n{err.render()}"
        )
    from ragline.compiler.flow import compile_workflow

    try:
        flow = compile_workflow(loaded)
    except RaglineError as err:
        return _failing_flow(name, f"the workflow file {path} cannot be compiled: {err}")
    return flow.with_options(flow_run_name=_run_name(loaded.workflow.name))
