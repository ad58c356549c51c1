"""`ragline runs`: recent runs with state, duration, tokens and cost, from the Prefect API."""

from __future__ import annotations

import json
from pathlib import Path

from ops_support import Cli

from ragline.testing.fixtures import TEST_KEY_ENV, fake_deployments, write_workflow
from ragline.testing.openai_server import FakeOpenAI


def test_runs_lists_a_run_with_its_tokens_and_cost(
    tmp_path: Path, cli: Cli, prefect: str, openai_server: FakeOpenAI
) -> None:
    path = write_workflow(
        tmp_path,
        {
            "name": "ops-runs-usage",
            "inputs": {"question": {"type": "string", "default": "What is ragline?"}},
            "models": {"answer": fake_deployments(openai_server, "gpt-4o-mini")},
            "cache": {"type": "none"},
            "steps": [
                {
                    "id": "prompt",
                    "uses": "prompt",
                    "with": {"text": "Q: {{ q }}", "vars": {"q": "${{ inputs.question }}"}},
                },
                {
                    "id": "answer",
                    "uses": "generate",
                    "with": {"model": "answer", "prompt": "${{ steps.prompt.output }}"},
                },
            ],
        },
    )
    env = {TEST_KEY_ENV: "sk-test-runs"}
    ran = cli("run", str(path), "--json", env=env)
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(ran.stdout)["flow_run_id"]

    listed = cli("runs", "--workflow", "ops-runs-usage", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [r["run_id"] for r in rows] == [run_id]
    row = rows[0]
    assert row["workflow"] == "ops-runs-usage"
    assert row["state"] == "Completed"
    assert row["duration_s"] > 0
    assert row["tokens_in"] > 0 and row["tokens_out"] > 0
    assert row["cost_usd"] > 0

    table = cli("runs", "--workflow", "ops-runs-usage")
    header, line = table.stdout.splitlines()
    assert header.split() == [
        "STARTED",
        "(UTC)",
        "WORKFLOW",
        "RUN",
        "STATE",
        "DURATION",
        "TOKENS",
        "IN/OUT",
        "COST",
    ]
    assert f"{row['tokens_in']}/{row['tokens_out']}" in line
    assert "Completed" in line and "$0.0000" in line


def test_runs_of_an_unknown_workflow_suggests_the_near_name(
    tmp_path: Path, cli: Cli, prefect: str
) -> None:
    write_workflow(
        tmp_path,
        {"name": "ops-runs-known", "steps": [{"id": "a", "uses": "value", "with": {"value": 1}}]},
    )
    assert cli("run", str(tmp_path / "workflow.yaml")).returncode == 0
    result = cli("runs", "--workflow", "ops-runs-knwn")
    assert result.returncode == 2
    assert "no workflow named 'ops-runs-knwn' has runs on http://127.0.0.1:" in result.stderr
    assert "did you mean 'ops-runs-known'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_runs_without_a_server_url_says_no_local_server_runs(tmp_path: Path, cli: Cli) -> None:
    home = tmp_path / "prefect-home"
    result = cli("runs", env={"PREFECT_API_URL": "", "PREFECT_HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"no local Prefect server is running under {home}, so no runs were read "
        "(`ragline run` starts it; or set PREFECT_API_URL to a server)"
    )
    assert not home.exists()  # nothing started, nothing written
