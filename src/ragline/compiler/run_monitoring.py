"""What a flow run switches on before its first step: log format and model-call events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragline.monitoring.events import emit
from ragline.monitoring.logs import configure_logging
from ragline.monitoring.otel import install_otel

if TYPE_CHECKING:
    from ragline.spec.model import Workflow


def start_run_monitoring(workflow: Workflow, run_id: str) -> None:
    """Called at the start of every flow run (CLI, `serve`, or a worker: all read the env).

    The LiteLLM callback is registered only when events go somewhere (JSON logs,
    OpenTelemetry) and the workflow has models, so other runs never import LiteLLM.
    """
    fmt = configure_logging()
    traced = install_otel()
    if (fmt == "json" or traced) and workflow.models:
        from ragline.llm.call_events import install_model_call_events

        install_model_call_events()
    emit(
        "run.started",
        f"run of {workflow.name} started",
        run_id=run_id,
        flow=workflow.name,
        steps=len(workflow.steps),
    )
