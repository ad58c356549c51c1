"""`ragline run` through the real command: outputs, exit codes, and a failure's
error id shared by the log, the Prefect state and the CLI (`--json` too)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prefect.client.orchestration import get_client

ROOT = Path(__file__).resolve().parents[2]
TEST_STEPS = {
    "PYTHONPATH": str(ROOT / "tests" / "compiler"),
    "RAGLINE_PLUGINS": "ragline_test_steps",
}

GREET = """\
apiVersion: ragline/v1
name: cli-greet
inputs:
  who: {type: string, default: world}
  times: {type: integer, default: 1, minimum: 1}
steps:
  - id: hello
    uses: value
    with: {value: "hello ${{ inputs.who }}"}
  - id: cite
    uses: regex-extract
    with: {text: "${{ steps.hello.output }}", pattern: "h(?P<rest>\\\\w+)"}
outputs:
  greeting: "${{ steps.hello.output }}"
  words: "${{ steps.cite.output.values }}"
  times: "${{ inputs.times }}"
"""

FAILING = """\
apiVersion: ragline/v1
name: cli-fails
steps:
  - id: ok
    uses: value
    with: {value: 1}
  - id: boom
    uses: flaky
    with: {log: runs.log, failures: 9, category: business_logic, value: "${{ steps.ok.output }}"}
"""


def test_run_prints_the_outputs(tmp_path: Path, cli, prefect: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "greet.yaml").write_text(GREET)
    result = cli("run", "greet.yaml", "-p", "who=ada", "-p", "times=3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "greeting: hello ada"
    assert '"hello"' in result.stdout  # the plugin step's matches, printed as JSON


def test_run_json_prints_outputs_as_one_object(tmp_path: Path, cli, prefect: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "greet.yaml").write_text(GREET)
    result = cli("run", "greet.yaml", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "completed"
    assert report["outputs"] == {"greeting": "hello world", "words": ["hello"], "times": 1}


def test_a_failed_step_shows_one_error_id_in_log_state_and_cli(
    tmp_path: Path, cli, prefect: str
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "fails.yaml").write_text(FAILING)
    result = cli("run", "fails.yaml", cwd=tmp_path, env=TEST_STEPS)
    assert result.returncode == 1
    match = re.search(
        r"^error: step 'boom' failed \[business_logic, (rl-[0-9a-f]{10})\]: "
        r"attempt 1 failed on purpose$",
        result.stderr,
        re.MULTILINE,
    )
    assert match, result.stderr
    error_id = match.group(1)
    assert "  hint: this is a test step" in result.stderr
    assert "Traceback" not in result.stderr.split("error: step")[-1]
    # The Prefect log line of the task run carries the same id.
    assert re.search(
        rf"step boom failed \[business_logic, {error_id}, retryable=False\]", result.stderr
    )
    flow_run_id = re.search(r"flow run: ([0-9a-f-]{36})", result.stderr).group(1)  # type: ignore[union-attr]
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)  # type: ignore[arg-type]
    assert flow_run.state is not None and flow_run.state.is_failed()
    assert error_id in (flow_run.state.message or "")


def test_run_json_prints_the_structured_error(tmp_path: Path, cli, prefect: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "fails.yaml").write_text(FAILING)
    result = cli("run", "fails.yaml", "--json", cwd=tmp_path, env=TEST_STEPS)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["status"] == "failed"
    error = report["error"]
    assert error["step_id"] == "boom"
    assert error["category"] == "business_logic"
    assert error["severity"] == "error"
    assert error["retryable"] is False
    assert error["message"] == "attempt 1 failed on purpose"
    assert error["hint"] == "this is a test step"
    assert re.fullmatch(r"rl-[0-9a-f]{10}", error["error_id"])
    assert error["error_id"] in result.stderr  # and in the task run's log line


def test_a_missing_required_input_is_refused_before_prefect_starts(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "ask.yaml").write_text(
        "apiVersion: ragline/v1\nname: ask\ninputs:\n  question: {type: string}\n"
        'steps:\n  - {id: echo, uses: value, with: {value: "${{ inputs.question }}"}}\n'
    )
    home = tmp_path / "prefect-home"
    result = cli("run", "ask.yaml", cwd=tmp_path, env={"PREFECT_HOME": str(home)})
    assert result.returncode == 2
    assert result.stderr == (
        "ask.yaml:4:3  inputs.question\n"
        "  input 'question' is required (string); pass it with -p question=...\n"
        "1 problem in ask.yaml\n"
    )
    assert not home.exists()


def test_the_citations_example_runs_offline_as_shipped(cli, prefect: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("run", str(ROOT / "workflows" / "citations.yaml"), "--json")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout)["outputs"] == {
        "cited": ["[secrets.md#0]", "[cache.md#0]"],
        "count": 2,
        "first_source": "secrets.md",
    }
