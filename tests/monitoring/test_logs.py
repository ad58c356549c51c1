"""Structured logs: `ragline run --log-format json` writes one JSON object per stderr line,
each naming its run and step; step durations, retries, progress, model calls and run
totals are events a log shipper can index."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import yaml
from monitoring_helpers import write

from ragline.monitoring.logs import JsonFormatter
from ragline.monitoring.progress import Progress, bar
from ragline.testing.fixtures import TEST_KEY_ENV, fake_deployments
from ragline.testing.openai_server import FakeOpenAI

WATCHED = """\
    apiVersion: ragline/v1
    name: watched
    defaults: {retry_delay_seconds: 0, cache: false}
    steps:
      - id: load
        uses: progress
        with: {items: 20}
      - id: shaky
        uses: flaky
        retries: 2
        with: {log: attempts.log, failures: 1}
    """


def json_lines(stderr: str) -> list[dict[str, Any]]:
    """Every stderr line parsed as JSON (a line that is not JSON fails the test)."""
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def events(lines: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == name]


def test_json_logs_carry_run_and_step_ids_durations_retries_and_progress(
    tmp_path: Path, prefect: str, cli: Any, plugin_env: dict[str, str]
) -> None:
    path = write(tmp_path, WATCHED)
    result = cli("run", str(path), "--json", "--log-format", "json", env=plugin_env)
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["flow_run_id"]
    lines = json_lines(result.stderr)

    assert {line["run_id"] for line in lines if line["run_id"]} == {run_id}
    finished = {e["step_id"]: e for e in events(lines, "step.finished")}
    assert set(finished) == {"load", "shaky"}
    assert finished["shaky"]["attempt"] == 2 and finished["shaky"]["retries"] == 1
    assert all(e["duration_s"] >= 0 for e in finished.values())
    [failed] = events(lines, "step.failed")
    assert failed["step_id"] == "shaky" and failed["attempt"] == 1 and failed["retryable"]
    assert failed["error_id"].startswith("rl-")

    progress = events(lines, "step.progress")
    assert progress[-1]["message"] == "ingested 20/20" and progress[-1]["step_id"] == "load"
    # Throttled: the first and the last, not a line per item.
    assert len(progress) < 20

    [totals] = events(lines, "run.finished")
    assert totals["completed"] == 2 and totals["retries"] == 1 and totals["failed"] == 0


def test_the_environment_switches_json_logs_on_for_any_run(
    tmp_path: Path, prefect: str, cli: Any, plugin_env: dict[str, str]
) -> None:
    path = write(tmp_path, WATCHED)
    result = cli("run", str(path), env={**plugin_env, "RAGLINE_LOG_FORMAT": "json"})
    assert result.returncode == 0, result.stderr
    assert events(json_lines(result.stderr), "run.finished")


def test_text_logs_stay_plain(
    tmp_path: Path, prefect: str, cli: Any, plugin_env: dict[str, str]
) -> None:
    path = write(tmp_path, WATCHED)
    result = cli("run", str(path), env=plugin_env)
    assert result.returncode == 0, result.stderr
    assert '"event"' not in result.stderr
    assert result.stdout.splitlines() == ["load: 20", "shaky: ok"]


def test_every_model_call_is_an_event_from_litellm_with_tokens_cost_latency_and_model(
    tmp_path: Path, prefect: str, cli: Any, openai_server: FakeOpenAI
) -> None:
    workflow = {
        "apiVersion": "ragline/v1",
        "name": "asks",
        "models": {"answer": fake_deployments(openai_server, "gpt-4o-mini")},
        "cache": {"type": "none"},
        "defaults": {"cache": False},
        "steps": [
            {"id": "first", "uses": "generate", "with": {"model": "answer", "prompt": "Hi"}},
            {"id": "second", "uses": "generate", "with": {"model": "answer", "prompt": "Yo"}},
        ],
    }
    path = tmp_path / "asks.yaml"
    path.write_text(yaml.safe_dump(workflow, sort_keys=False))
    result = cli(
        "run", str(path), "--json", "--log-format", "json", env={TEST_KEY_ENV: "sk-test-1234"}
    )
    assert result.returncode == 0, result.stderr
    run_id = json.loads(result.stdout)["flow_run_id"]
    calls = {e["step_id"]: e for e in events(json_lines(result.stderr), "model.call")}
    assert set(calls) == {"first", "second"}
    for call in calls.values():
        assert call["run_id"] == run_id and call["status"] == "ok"
        assert call["model"] == "openai/gpt-4o-mini" and call["alias"] == "answer"
        assert call["prompt_tokens"] > 0 and call["completion_tokens"] > 0
        assert call["latency_ms"] > 0 and call["cost_usd"] > 0
    assert "sk-test-1234" not in result.stderr
    [totals] = events(json_lines(result.stderr), "run.finished")
    assert totals["model_calls"] == 2 and totals["cost_usd"] > 0


def test_a_progress_bar_redraws_in_place_on_a_terminal() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("test.progress")
    progress = Progress(logger, label="ingest", stream=stream, interactive=True, log_every_s=60)
    for done in range(1, 2001):
        progress.update(done, 2000, "ingested")
    drawn = stream.getvalue()
    assert drawn.startswith("\ringest [") and drawn.endswith(
        "\ringest [##############################] 2000/2000 ingested (100%)\n"
    )
    assert drawn.count("\n") == 1
    assert progress.lines == 2  # the first update and the last, within one log interval
    assert bar("ingest", 120, 2000, "ingested") == (
        "ingest [##............................] 120/2000 ingested (6%)"
    )


def test_a_log_record_from_a_prefect_run_logger_names_flow_run_and_task_run() -> None:
    record = logging.LogRecord("prefect.task_runs", logging.ERROR, __file__, 1, "boom", None, None)
    record.flow_run_id = "f-1"
    record.task_run_name = "embed"
    record.flow_name = "docs-qa"
    line = json.loads(JsonFormatter().format(record))
    assert line["run_id"] == "f-1" and line["step_id"] == "embed" and line["flow"] == "docs-qa"
    assert line["level"] == "ERROR" and line["message"] == "boom" and line["event"] == "log"
