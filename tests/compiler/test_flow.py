"""A workflow runs as a real Prefect flow: one task run per step, its inputs as
parameters, concurrency, retries decided by the failure, timeouts, and the step
fingerprint cache (skip unchanged steps, resume at the failed one)."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import TaskRunSort

from ragline.compiler.flow import compile_workflow
from ragline.errors import StepError
from ragline.sdk.registry import Registry, discover
from ragline.validation.workflow import load_workflow

HERE = Path(__file__).resolve().parent


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    """Built-in steps plus the test steps in ragline_test_steps.py."""
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("RAGLINE_PLUGINS", "ragline_test_steps")
    return discover()


def write(folder: Path, text: str, name: str = "wf.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def run(path: Path, registry: Registry, **params: Any) -> Any:
    """Run the workflow's flow in-process; return the final flow-run state."""
    flow = compile_workflow(load_workflow(path, registry), registry)
    return flow(**params, return_state=True)


def task_runs(
    flow_run_id: UUID, wait_for: frozenset[str] | set[str] = frozenset(), timeout: float = 30
) -> Any:
    """Task runs of a flow run by name, each with its state history (oldest first).

    Prefect 3 sends task-run states as events, which a busy server records a moment
    after the flow returns: `wait_for` names the task runs to wait for, in a final state.
    """
    import time

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                sort=TaskRunSort.EXPECTED_START_TIME_ASC,
                limit=100,
            )
            final = {r.name for r in runs if r.state is not None and r.state.is_final()}
            if wait_for <= final or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        return {
            r.name: {
                "run": r,
                "states": [
                    s.name
                    for s in sorted(client.read_task_run_states(r.id), key=lambda s: s.timestamp)
                ],
            }
            for r in runs
        }


def executions(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_task_runs_are_named_after_step_ids_and_inputs_are_parameters(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    path = write(
        tmp_path,
        """\
        apiVersion: ragline/v1
        name: greet
        inputs:
          who: {type: string, default: world}
          times: {type: integer, default: 2, minimum: 1}
        steps:
          - id: hello
            uses: value
            with: {value: "hello ${{ inputs.who }}"}
          - id: repeat
            uses: value
            with: {value: {text: "${{ steps.hello.output }}", n: "${{ inputs.times }}"}}
        outputs:
          text: "${{ steps.repeat.output.text }}"
          n: "${{ steps.repeat.output.n }}"
        """,
    )
    flow = compile_workflow(load_workflow(path, registry), registry)
    assert flow.name == "greet"
    assert list(flow.parameters.properties) == ["who", "times"]
    assert flow.parameters.properties["times"]["default"] == 2

    state = flow(who="ada", return_state=True)
    assert state.result() == {"text": "hello ada", "n": 2}
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(state.state_details.flow_run_id)
    assert flow_run.parameters == {"who": "ada", "times": 2}
    runs = task_runs(state.state_details.flow_run_id)
    assert sorted(runs) == ["hello", "repeat"]
    assert all(r["run"].state.is_completed() for r in runs.values())


def test_a_step_reading_another_is_recorded_as_depending_on_it(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    """Upstream outputs are handed over without Prefect walking them, yet the
    dependency is still recorded, so the UI draws the edge between the steps."""
    path = write(
        tmp_path,
        """\
        apiVersion: ragline/v1
        name: edges
        steps:
          - id: numbers
            uses: value
            with: {value: {rows: [[1.5, 2.5], [3.5, 4.5]]}}
          - id: copy
            uses: value
            with: {value: "${{ steps.numbers.output.rows }}"}
        outputs:
          rows: "${{ steps.copy.output }}"
        """,
    )
    state = run(path, registry)
    assert state.result() == {"rows": [[1.5, 2.5], [3.5, 4.5]]}
    runs = task_runs(state.state_details.flow_run_id)
    upstream = runs["copy"]["run"].task_inputs["upstream"]
    assert [str(ref.id) for ref in upstream] == [str(runs["numbers"]["run"].id)]
    assert runs["numbers"]["run"].task_inputs["upstream"] == []


def test_task_runs_carry_the_tags_the_workflow_sets_and_no_others(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    """A tag is a Prefect concurrency-limit key that each task run asks the server
    for; a SQLite-backed server sometimes answers that with a 503 the client waits
    2 s on, so ragline adds none of its own."""
    path = write(
        tmp_path,
        """\
        apiVersion: ragline/v1
        name: tagged
        defaults: {tags: [nightly]}
        steps:
          - {id: plain, uses: value, with: {value: 1}}
          - {id: marked, uses: value, tags: [gpu], with: {value: 2}}
        """,
    )
    state = run(path, registry)
    assert state.is_completed()
    runs = task_runs(state.state_details.flow_run_id)
    assert sorted(runs["plain"]["run"].tags) == ["nightly"]
    assert sorted(runs["marked"]["run"].tags) == ["gpu", "nightly"]


def test_independent_steps_run_concurrently(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    path = write(
        tmp_path,
        """\
        apiVersion: ragline/v1
        name: fan-out
        defaults: {cache: false}
        steps:
          - {id: a, uses: sleep, with: {seconds: 1.0}}
          - {id: b, uses: sleep, with: {seconds: 1.0}}
          - {id: c, uses: sleep, with: {seconds: 1.0}}
          - id: join
            uses: value
            with:
              value: ["${{ steps.a.output }}", "${{ steps.b.output }}", "${{ steps.c.output }}"]
        outputs:
          spans: "${{ steps.join.output }}"
        """,
    )
    spans = run(path, registry).result()["spans"]
    # Each step started before every other one finished: all three overlapped.
    latest_start = max(s.started for s in spans)
    earliest_finish = min(s.finished for s in spans)
    assert latest_start < earliest_finish, spans


def test_a_retryable_failure_is_retried_until_it_succeeds(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    path = write(
        tmp_path,
        """\
        apiVersion: ragline/v1
        name: flaky-model
        steps:
          - id: call
            uses: flaky
            retries: 3
            retry_delay_seconds: 0
            with: {log: runs.log, failures: 2, category: model, value: answered}
        outputs:
          answer: "${{ steps.call.output }}"
        """,
    )
    state = run(path, registry)
    assert state.result() == {"answer": "answered"}
    assert executions(tmp_path / "runs.log") == ["call", "call", "call"]
    states = task_runs(state.state_details.flow_run_id)["call"]["states"]
    assert states.count("Retrying") == 2
    assert states[-1] == "Completed"


def test_a_bad_input_failure_is_never_retried(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    path = write(
        tmp_path,
        """\
        apiVersion: ragline/v1
        name: bad-input
        steps:
          - id: parse
            uses: flaky
            retries: 3
            retry_delay_seconds: 0
            with: {log: runs.log, failures: 5, category: input}
        """,
    )
    state = run(path, registry)
    assert state.is_failed()
    assert executions(tmp_path / "runs.log") == ["parse"]
    states = task_runs(state.state_details.flow_run_id)["parse"]["states"]
    assert "Retrying" not in states
    assert states[-1] == "Failed"


def test_the_error_id_is_in_the_log_and_the_prefect_state_message(
    tmp_path: Path, registry: Registry, prefect: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path,
        """\
        apiVersion: ragline/v1
        name: fails
        steps:
          - id: broken
            uses: flaky
            with: {log: runs.log, failures: 1, category: business_logic}
        """,
    )
    with caplog.at_level(logging.ERROR):
        state = run(path, registry)
    with pytest.raises(StepError) as raised:
        state.result()
    error = raised.value
    assert error.step_id == "broken"
    assert error.category == "business_logic"
    assert not error.retryable
    assert error.error_id.startswith("rl-")
    task_state = task_runs(state.state_details.flow_run_id)["broken"]["run"].state
    assert error.error_id in task_state.message
    assert error.error_id in (state.message or "")
    logged = [r.getMessage() for r in caplog.records if error.error_id in r.getMessage()]
    assert logged and "step broken failed [business_logic" in logged[0]


def test_a_step_past_its_timeout_fails(tmp_path: Path, registry: Registry, prefect: str) -> None:
    path = write(
        tmp_path,
        """\
        apiVersion: ragline/v1
        name: slow
        steps:
          - id: nap
            uses: sleep
            timeout_seconds: 0.3
            with: {seconds: 1.5}
        """,
    )
    state = run(path, registry)
    assert state.is_failed()
    with pytest.raises(StepError) as raised:
        state.result()
    assert raised.value.step_id == "nap"
    assert raised.value.retryable
    assert "did not finish within its timeout_seconds" in raised.value.failure.message
    assert task_runs(state.state_details.flow_run_id)["nap"]["run"].state.name == "TimedOut"


CHAIN = """\
    apiVersion: ragline/v1
    name: chain
    inputs:
      x: {type: integer, default: 1}
      y: {type: integer, default: 1}
    steps:
      - {id: one, uses: count, with: {log: runs.log, value: "${{ inputs.x }}"}}
      - {id: two, uses: count, with: {log: runs.log, value: "${{ steps.one.output }}"}}
      - {id: other, uses: count, with: {log: runs.log, value: "${{ inputs.y }}"}}
    outputs:
      two: "${{ steps.two.output }}"
      other: "${{ steps.other.output }}"
    """


def test_an_unchanged_second_run_reuses_every_step(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    path = write(tmp_path, CHAIN)
    log = tmp_path / "runs.log"
    first = run(path, registry)
    assert first.result() == {"two": 1, "other": 1}
    assert sorted(executions(log)) == ["one", "other", "two"]

    second = run(path, registry)
    assert second.result() == {"two": 1, "other": 1}
    assert sorted(executions(log)) == ["one", "other", "two"]  # nothing ran again
    states = task_runs(second.state_details.flow_run_id)
    assert {name: r["run"].state.name for name, r in states.items()} == {
        "one": "Cached",
        "two": "Cached",
        "other": "Cached",
    }


def test_a_changed_input_reruns_only_the_steps_that_read_it(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    path = write(tmp_path, CHAIN)
    log = tmp_path / "runs.log"
    run(path, registry)
    log.write_text("")
    state = run(path, registry, x=5)
    assert state.result() == {"two": 5, "other": 1}
    assert sorted(executions(log)) == ["one", "two"]
    states = task_runs(state.state_details.flow_run_id)
    assert states["other"]["run"].state.name == "Cached"


def test_a_failed_run_resumes_at_the_failed_step(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    path = write(
        tmp_path,
        """\
        apiVersion: ragline/v1
        name: resume
        steps:
          - {id: one, uses: count, with: {log: runs.log, value: 1}}
          - {id: two, uses: count, with: {log: runs.log, value: "${{ steps.one.output }}"}}
          - id: three
            uses: flaky
            with:
              log: runs.log
              failures: 1
              category: business_logic
              value: "${{ steps.two.output }}"
          - {id: four, uses: count, with: {log: runs.log, value: "${{ steps.three.output }}"}}
        outputs:
          four: "${{ steps.four.output }}"
        """,
    )
    log = tmp_path / "runs.log"
    first = run(path, registry)
    assert first.is_failed()
    assert executions(log) == ["one", "two", "three"]
    first_runs = task_runs(first.state_details.flow_run_id, wait_for={"three"})
    assert first_runs["three"]["run"].state.is_failed()
    assert "four" not in first_runs or not first_runs["four"]["run"].state.is_completed()

    log.write_text("three\n")  # the flaky step's own count: it failed once already
    second = run(path, registry)
    assert second.result() == {"four": 1}
    assert executions(log) == ["three", "three", "four"]
    second_runs = task_runs(second.state_details.flow_run_id, wait_for={"three", "four"})
    states = {n: r["run"].state.name for n, r in second_runs.items()}
    assert states == {"one": "Cached", "two": "Cached", "three": "Completed", "four": "Completed"}
