"""`ragline run PATH [-p key=value ...] [--json]`: run a workflow as a Prefect flow.

The workflow and its parameters are checked before Prefect is imported, so a
wrong file or `-p` fails fast with exit code 2 and nothing written.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from ragline.errors import ParameterError, StepError, WorkflowError

if TYPE_CHECKING:
    from ragline.ops.local_server import ServerState


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="workflow file")
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an input (repeatable); JSON values are parsed for non-string inputs",
    )
    parser.add_argument("--json", action="store_true", help="print outputs (or the error) as JSON")
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=None,
        help="log lines on stderr: text (default) or one JSON object per line with run and "
        "step ids (also RAGLINE_LOG_FORMAT)",
    )


def _jsonable(value: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def run(args: argparse.Namespace) -> int:
    from ragline.spec.inputs import check_parameters, parse_assignments
    from ragline.validation.workflow import load_workflow

    loaded = load_workflow(args.path)
    try:
        params = check_parameters(loaded.workflow, parse_assignments(loaded.workflow, args.param))
    except ParameterError as err:
        # Point at the input's declaration: that is where its type and bounds live.
        raise WorkflowError(
            [
                loaded.source.diagnostic(
                    ("inputs", name) if name else ("inputs",), message, key=True
                )
                for name, message in err.problems
            ]
        ) from None

    try:
        return _run(args, loaded, params)
    finally:
        from ragline.ops.run_api import forget_this_process

        forget_this_process()


def _run(args: argparse.Namespace, loaded: Any, params: dict[str, Any]) -> int:
    from ragline.ops.run_api import api_for_runs, choose_api

    local = choose_api()  # before Prefect's import: it reads the URL this exports
    from ragline.cli.run_without_server import RunCapture, api_lost, report_unrecorded
    from ragline.compiler.flow import compile_workflow
    from ragline.llm.redact import redact

    url, local = api_for_runs(local, "ragline run", "the workflow did not run")
    capture = RunCapture()
    flow = compile_workflow(loaded, on_finish=capture)
    if args.log_format:  # after Prefect's import set up its console handlers
        from ragline.monitoring import configure_logging

        configure_logging(args.log_format)
    from ragline.monitoring.logs import quiet_failures

    quiet_failures(debug=bool(getattr(args, "debug", False)))
    try:
        state: Any = _run_recorded(flow, params, url, local)
    except Exception as exc:  # the server went away mid-run: keep the local result
        if not api_lost(exc):
            raise
        return report_unrecorded(capture, exc, url, as_json=args.json, jsonable=_jsonable)
    run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
    if state.is_completed():
        outputs = _jsonable(state.result())
        if args.json:
            print(
                redact(
                    json.dumps(
                        {"status": "completed", "flow_run_id": run_id, "outputs": outputs},
                        indent=2,
                    )
                )
            )
        else:
            for key, value in outputs.items():
                text = value if isinstance(value, str) else json.dumps(value, indent=2)
                print(redact(f"{key}: {text}"))
        return 0
    error = _failure(state)
    if args.json:
        print(
            redact(
                json.dumps(
                    {"status": "failed", "flow_run_id": run_id, "error": error.failure.as_dict()},
                    indent=2,
                )
            )
        )
    else:
        print(redact(f"error: {error}"), file=sys.stderr)
        if run_id:
            print(f"  flow run: {run_id}", file=sys.stderr)
    return 2 if error.step_id == "(inputs)" else 1


def _run_recorded(flow: Any, params: dict[str, Any], url: str, local: ServerState | None) -> Any:
    """Run the flow with a record of this process, so a killed run ends CRASHED, not RUNNING."""
    from ragline.ops.run_api import recorded_runs

    with recorded_runs(url, local) as record_run:
        return flow.with_options(on_running=[record_run])(**params, return_state=True)


def _failure(state: Any) -> StepError:
    """The StepError a failed run raised (anything else is classified as one)."""
    from ragline.errors.classify import as_step_error

    try:
        state.result(raise_on_failure=True)
    except Exception as exc:  # the run's failure, reported by the caller
        return as_step_error(exc, "(flow)")
    return StepError(state.message or f"the run ended in state {state.name}", step_id="(flow)")
