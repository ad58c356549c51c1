"""What `ragline run` prints when a step fails, and a short step timeout on a model step."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ragline.testing.fixtures import TEST_KEY_ENV, fake_deployments, write_workflow
from ragline.testing.openai_server import FakeOpenAI

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TEST_STEPS = {
    "PYTHONPATH": os.pathsep.join(
        p for p in (str(ROOT / "tests" / "compiler"), os.environ.get("PYTHONPATH", "")) if p
    ),
    "RAGLINE_PLUGINS": "ragline_test_steps",
}

FAILING = """\
apiVersion: ragline/v1
name: cli-output-fails
steps:
  - id: ok
    uses: value
    with: {value: 1}
  - id: boom
    uses: flaky
    with: {log: runs.log, failures: 9, category: business_logic, value: "${{ steps.ok.output }}"}
"""


def test_a_failed_step_prints_one_located_line_and_no_traceback(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    prefect: str,
) -> None:
    (tmp_path / "fails.yaml").write_text(FAILING)
    result = cli("run", "fails.yaml", cwd=tmp_path, env=TEST_STEPS)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    located = [line for line in result.stderr.splitlines() if "step boom failed" in line]
    assert len(located) == 1, result.stderr
    assert "[business_logic, rl-" in located[0] and "retryable=False" in located[0]
    assert not [line for line in result.stderr.splitlines() if "Finished in state Failed" in line]
    assert result.stderr.rstrip().splitlines()[-3].startswith("error: step 'boom' failed")
    assert len(result.stderr.splitlines()) <= 10, result.stderr

    debug = cli("--debug", "run", "fails.yaml", cwd=tmp_path, env=TEST_STEPS)
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr


def test_a_short_timeout_on_a_model_step_does_not_time_the_model_import(
    tmp_path: Path,
    cli,  # type: ignore[no-untyped-def]
    prefect: str,
    openai_server: FakeOpenAI,
) -> None:
    # A fresh `ragline run` imports LiteLLM for the first model step: seconds, more than
    # this step's whole timeout on a loaded machine. The clock starts after the import.
    path = write_workflow(
        tmp_path,
        {
            "name": "cli-short-timeout",
            "models": {"answer": fake_deployments(openai_server, "gpt-4o-mini")},
            "cache": {"type": "none"},
            "steps": [
                {
                    "id": "answer",
                    "uses": "generate",
                    "timeout_seconds": 3,
                    "retries": 0,
                    "with": {"model": "answer", "prompt": "Say hello."},
                }
            ],
            "outputs": {"text": "${{ steps.answer.output.text }}"},
        },
    )
    result = cli("run", str(path), "--json", env={TEST_KEY_ENV: "sk-test-timeout"})
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert json.loads(result.stdout)["outputs"]["text"]
