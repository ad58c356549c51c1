"""Artifacts on each flow run, read back through the Prefect API: the run summary (steps,
durations, retries, cache hits, totals), the model-usage table, the evaluation scores and
the safety report, even when the step that produced them failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from monitoring_helpers import flow_run_artifacts

from ragline.compiler.flow import compile_workflow
from ragline.sdk.registry import Registry
from ragline.testing.fixtures import TEST_KEY_ENV, fake_deployments
from ragline.testing.openai_server import FakeOpenAI
from ragline.validation.workflow import load_workflow


def reported_workflow(folder: Path, fake: FakeOpenAI, *, gate: float = 0.5) -> Path:
    data = {
        "apiVersion": "ragline/v1",
        "name": "reported",
        "inputs": {"answer": {"type": "string", "default": "Vectors live in LanceDB."}},
        "models": {"answer": fake_deployments(fake, "gpt-4o-mini")},
        "cache": {"type": "none"},
        "defaults": {"retry_delay_seconds": 0},
        "steps": [
            {
                "id": "shaky",
                "uses": "flaky",
                "retries": 2,
                "with": {"log": "attempts.log", "failures": 1},
            },
            {
                "id": "ask",
                "uses": "generate",
                "with": {"model": "answer", "prompt": "Where are vectors?", "temperature": 0},
            },
            {
                "id": "safety",
                "uses": "safety-check",
                "with": {"text": "Mail jane@example.com", "checks": ["pii"], "on_fail": "redact"},
            },
            {
                "id": "evaluate",
                "uses": "evaluate",
                "with": {
                    "answer": "${{ inputs.answer }}",
                    "reference": "Vectors live in LanceDB.",
                    "gates": {"token_f1": gate},
                },
            },
        ],
    }
    path = folder / "reported.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run(path: Path, registry: Registry, **params: Any) -> Any:
    flow = compile_workflow(load_workflow(path, registry), registry)
    return flow(**params, return_state=True)


def table(artifact: dict[str, Any]) -> list[dict[str, Any]]:
    data = artifact["data"]
    rows: list[dict[str, Any]] = json.loads(data) if isinstance(data, str) else data
    return rows


def summary_rows(markdown: str) -> dict[str, list[str]]:
    """The run summary's step table: step id -> its cells."""
    rows = [line.strip("|").split("|") for line in markdown.splitlines() if line.startswith("| ")]
    cells = [[c.strip() for c in row] for row in rows]
    header, *body = cells
    assert header[:6] == ["step", "type", "state", "duration (s)", "retries", "cache hit"]
    return {row[0]: row for row in body}


@pytest.fixture(autouse=True)
def _test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_KEY_ENV, "sk-test-artifacts")


def test_a_run_publishes_summary_model_usage_evaluation_and_safety_report(
    tmp_path: Path, registry: Registry, prefect: str, openai_server: FakeOpenAI
) -> None:
    state = run(reported_workflow(tmp_path, openai_server), registry)
    assert state.is_completed()
    artifacts = flow_run_artifacts(prefect, str(state.state_details.flow_run_id))
    assert {
        "run-summary",
        "model-usage-total",
        "ask-model-usage",
        "safety-safety",
        "evaluate-scores",
    } <= set(artifacts)

    summary = artifacts["run-summary"]["data"]
    assert "4 steps: 4 run, 0 from cache, 0 failed; 1 retries" in summary
    assert "1 model calls" in summary
    rows = summary_rows(summary)
    assert rows["shaky"][1:3] == ["flaky", "Completed"] and rows["shaky"][4] == "1"
    assert rows["ask"][4:7] == ["0", "no", "1"] and int(rows["ask"][7]) > 0
    assert float(rows["evaluate"][3]) >= 0

    [model, total] = table(artifacts["model-usage-total"])
    assert model["model"] == "openai/gpt-4o-mini" and total["model"] == "TOTAL"
    assert model["calls"] == 1 and model["prompt_tokens"] > 0 and model["completion_tokens"] > 0
    assert model["cost_usd"] > 0 and model["retries"] == 0 and model["fallbacks"] == 0

    scores = {r["metric"]: r for r in table(artifacts["evaluate-scores"])}
    assert scores["token_f1"]["score"] == 1.0 and scores["token_f1"]["gate"] == 0.5
    report = artifacts["safety-safety"]["data"]
    assert "| pii | email |" in report and "jane@example.com" not in report


def test_a_cached_rerun_shows_cache_hits_and_no_model_use(
    tmp_path: Path, registry: Registry, prefect: str, openai_server: FakeOpenAI
) -> None:
    path = reported_workflow(tmp_path, openai_server)
    assert run(path, registry).is_completed()
    state = run(path, registry)
    artifacts = flow_run_artifacts(prefect, str(state.state_details.flow_run_id))
    summary = artifacts["run-summary"]["data"]
    assert "4 steps: 0 run, 4 from cache" in summary and "0 model calls" in summary
    assert all(row[5] == "yes" for row in summary_rows(summary).values())
    assert "model-usage-total" not in artifacts
    # The cached evaluation is still this run's evaluation: its scores are on the run.
    assert "evaluate-scores" in artifacts


def test_a_failed_gate_keeps_its_scores_and_the_error_names_the_step(
    tmp_path: Path, registry: Registry, prefect: str, openai_server: FakeOpenAI
) -> None:
    path = reported_workflow(tmp_path, openai_server, gate=0.9)
    state = run(path, registry, answer="Vectors are kept in a spreadsheet.")
    assert state.is_failed()
    assert "step 'evaluate' failed" in state.message and "quality gate failed" in state.message
    assert "Traceback" not in state.message
    artifacts = flow_run_artifacts(prefect, str(state.state_details.flow_run_id))
    scores = {r["metric"]: r["score"] for r in table(artifacts["evaluate-scores"])}
    assert scores["token_f1"] < 0.9
    rows = summary_rows(artifacts["run-summary"]["data"])
    assert rows["evaluate"][2] == "Failed" and rows["ask"][2] == "Completed"
