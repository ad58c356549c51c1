"""prompt + generate as real Prefect flows against the fake OpenAI server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from ragline.compiler.flow import compile_workflow
from ragline.errors import StepError
from ragline.testing.fixtures import fake_deployments, write_workflow
from ragline.testing.openai_server import FakeOpenAI
from ragline.validation.workflow import load_workflow

TEMPLATE = """\
---
version: 2
---
<|system|>
Answer from the contexts only.
<|user|>
{{ contexts | cite }}

Question: {{ question }}
"""

CONTEXTS = [
    {
        "id": "c1",
        "document_id": "d1",
        "text": "ragline runs YAML workflows on Prefect.",
        "source": "docs/intro.md",
        "index": 0,
        "score": 0.9,
        "rank": 1,
    },
    {
        "id": "c2",
        "document_id": "d2",
        "text": "LanceDB stores the vectors.",
        "source": "docs/store.md",
        "index": 3,
        "score": 0.4,
        "rank": 2,
    },
]


def qa_workflow(folder: Path, models: dict[str, Any], **extra: Any) -> Path:
    (folder / "prompts").mkdir(exist_ok=True)
    (folder / "prompts" / "answer.j2").write_text(TEMPLATE)
    generate: dict[str, Any] = {
        "model": "answer",
        "prompt": "${{ steps.prompt.output }}",
        "temperature": 0,
    }
    generate.update(extra.pop("generate", {}))
    return write_workflow(
        folder,
        {
            "inputs": {"question": {"type": "string"}},
            "models": models,
            "steps": [
                {"id": "contexts", "uses": "value", "with": {"value": CONTEXTS}},
                {
                    "id": "prompt",
                    "uses": "prompt",
                    "with": {
                        "template": "prompts/answer.j2",
                        "vars": {
                            "question": "${{ inputs.question }}",
                            "contexts": "${{ steps.contexts.output }}",
                        },
                    },
                },
                {"id": "generate", "uses": "generate", "with": generate},
            ],
            "outputs": {
                "answer": "${{ steps.generate.output.text }}",
                "usage": "${{ steps.generate.output.usage }}",
                "model": "${{ steps.generate.output.model }}",
                "parsed": "${{ steps.generate.output.parsed }}",
                "meta": "${{ steps.generate.output.metadata }}",
            },
            "defaults": {"cache": False},
            **extra,
        },
    )


def test_a_question_is_answered_through_the_router_with_usage_recorded(
    tmp_path: Path, prefect: str, openai_server: FakeOpenAI
) -> None:
    openai_server.script("primary", ["500"])
    path = qa_workflow(
        tmp_path,
        {"answer": fake_deployments(openai_server, "primary", "secondary")},
        routing={"num_retries": 2},
    )
    records: list[Any] = []
    flow = compile_workflow(load_workflow(path), on_finish=lambda recs, outs: records.extend(recs))
    out = flow(question="Where are vectors stored?")
    assert out["answer"].startswith("echo: [intro.md#0] ragline runs YAML workflows on Prefect.")
    assert out["answer"].endswith("Question: Where are vectors stored?")
    usage = out["usage"]
    assert usage.calls == 1 and usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.model in ("openai/primary", "openai/secondary")
    sent = next(r for r in openai_server.requests if r.behavior == "ok")
    assert sent.body["messages"][0] == {
        "role": "system",
        "content": "Answer from the contexts only.",
    }
    assert sent.body["temperature"] == 0
    [gen] = [r for r in records if r.step_id == "generate"]
    [row] = gen.metrics["model_usage"]
    assert row["alias"] == "answer" and row["calls"] == 1
    [artifact] = gen.metrics["artifacts"]
    assert artifact["key"] == "model-usage" and artifact["kind"] == "table"
    assert artifact["data"][0]["prompt_tokens"] == usage.prompt_tokens


def test_the_budget_stops_the_run_with_a_clear_error(
    tmp_path: Path, prefect: str, openai_server: FakeOpenAI
) -> None:
    openai_server.set_reply("m", "word " * 50)
    path = qa_workflow(
        tmp_path, {"answer": fake_deployments(openai_server, "m")}, budget={"max_tokens": 20}
    )
    flow = compile_workflow(load_workflow(path))
    state = flow(question="q", return_state=True)
    assert state.is_failed()
    with pytest.raises(StepError) as err:
        state.result()
    assert "model budget of the run: max_tokens 20 exceeded" in str(err.value)
    assert err.value.step_id == "generate"
    assert err.value.category == "business_logic" and not err.value.retryable
    assert len(openai_server.calls("m")) == 1  # not retried


def _usage_table(prefect: str, state: Any) -> list[dict[str, Any]]:
    """The `model-usage-total` rows of a flow run (what `ragline runs` reads its TOTAL from)."""
    import httpx

    response = httpx.post(
        f"{prefect}/artifacts/filter",
        json={
            "limit": 50,
            "offset": 0,
            "artifacts": {"key": {"any_": ["model-usage-total"]}},
            "flow_runs": {"id": {"any_": [str(state.state_details.flow_run_id)]}},
        },
    )
    response.raise_for_status()
    [artifact] = response.json()
    data = artifact["data"]
    rows: list[dict[str, Any]] = json.loads(data) if isinstance(data, str) else data
    return rows


@pytest.mark.integration
def test_the_call_that_crosses_the_budget_is_counted_in_the_run_usage(
    tmp_path: Path, prefect: str, openai_server: FakeOpenAI
) -> None:
    import re

    openai_server.set_reply("m", "word " * 10)
    path = qa_workflow(
        tmp_path, {"answer": fake_deployments(openai_server, "m")}, budget={"max_tokens": 60}
    )
    data = yaml.safe_load(path.read_text())
    data["steps"].append(
        {
            "id": "again",
            "uses": "generate",
            "needs": ["generate"],
            "with": {"model": "answer", "prompt": "Say it again " * 10, "temperature": 0},
        }
    )
    path.write_text(yaml.safe_dump(data))
    records: list[Any] = []
    flow = compile_workflow(load_workflow(path), on_finish=lambda recs, outs: records.extend(recs))
    state = flow(question="q", return_state=True)
    with pytest.raises(StepError) as err:
        state.result()
    said = re.search(r"max_tokens 60 exceeded \((\d+) used\)", str(err.value))
    assert said, str(err.value)
    [total] = [r for r in _usage_table(prefect, state) if r["model"] == "TOTAL"]
    assert total["calls"] == 2 == len(openai_server.calls("m"))
    assert total["prompt_tokens"] + total["completion_tokens"] == int(said.group(1))
    [again] = [r for r in records if r.step_id == "again"]
    [row] = again.metrics["model_usage"]
    assert row["prompt_tokens"] > 0 and row["completion_tokens"] == 10


@pytest.mark.integration
def test_failed_attempts_of_a_step_are_counted_in_the_run_usage(
    tmp_path: Path, prefect: str, openai_server: FakeOpenAI
) -> None:
    openai_server.script("m", ["500", "500"])
    path = qa_workflow(
        tmp_path,
        {"answer": fake_deployments(openai_server, "m")},
        routing={"num_retries": 0},
        defaults={"cache": False, "retries": 2, "retry_delay_seconds": 0},
    )
    records: list[Any] = []
    flow = compile_workflow(load_workflow(path), on_finish=lambda recs, outs: records.extend(recs))
    state = flow(question="q", return_state=True)
    assert state.is_completed()
    [gen] = [r for r in records if r.step_id == "generate"]
    assert gen.retries == 2
    assert [(r["calls"], r["failed"]) for r in gen.metrics["model_usage"]] == [
        (1, 1),
        (1, 1),
        (1, 0),
    ]
    [table] = [a for a in gen.metrics["artifacts"] if a["key"] == "model-usage"]
    assert len(table["data"]) == 3
    [total] = [r for r in _usage_table(prefect, state) if r["model"] == "TOTAL"]
    assert (total["calls"], total["failed"]) == (3, 2) and len(openai_server.calls("m")) == 3


SCHEMA = {
    "type": "object",
    "required": ["answer", "sources"],
    "properties": {
        "answer": {"type": "string"},
        "sources": {"type": "array", "items": {"type": "string"}},
    },
}


def test_structured_output_is_parsed_and_an_invalid_answer_is_retried_once(
    tmp_path: Path, prefect: str, openai_server: FakeOpenAI
) -> None:
    replies = iter(['{"answer": "Prefect"}', '{"answer": "Prefect", "sources": ["intro.md#0"]}'])
    openai_server.set_reply("m", lambda body: next(replies))
    path = qa_workflow(
        tmp_path,
        {"answer": fake_deployments(openai_server, "m")},
        generate={"response_format": SCHEMA},
    )
    out = compile_workflow(load_workflow(path))(question="What runs the flows?")
    assert out["parsed"] == {"answer": "Prefect", "sources": ["intro.md#0"]}
    assert out["meta"]["attempts"] == 2
    retry = openai_server.calls("m")[1].body["messages"]
    assert "'sources' is a required property" in retry[-1]["content"]
    assert openai_server.calls("m")[0].body["response_format"]["type"] == "json_schema"


def test_structured_output_that_stays_invalid_fails_clearly(
    tmp_path: Path, prefect: str, openai_server: FakeOpenAI
) -> None:
    openai_server.set_reply("m", "Sure! The answer is Prefect.")
    path = qa_workflow(
        tmp_path,
        {"answer": fake_deployments(openai_server, "m")},
        generate={"response_format": SCHEMA},
    )
    state = compile_workflow(load_workflow(path))(question="q", return_state=True)
    with pytest.raises(StepError) as err:
        state.result()
    assert "gave no valid JSON after 2 attempts: the answer is not JSON" in str(err.value)
    assert len(openai_server.calls("m")) == 2


def test_streaming_logs_the_answer_as_it_arrives(
    tmp_path: Path, openai_server: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    from ragline.sdk.context import StepContext
    from ragline.steps.generate import GenerateConfig, generate
    from ragline.testing.fixtures import workflow_model

    openai_server.set_reply("m", "first line\nsecond line")
    wf = workflow_model(models={"answer": fake_deployments(openai_server, "m")})
    ctx = StepContext(step_id="generate", workflow=wf, workflow_dir=tmp_path)
    with caplog.at_level("INFO", logger="ragline.step"):
        out = generate(GenerateConfig(model="answer", prompt="Say two lines", stream=True), ctx)
    assert out.text == "first line\nsecond line"
    assert out.usage.completion_tokens > 0
    assert openai_server.calls("m")[0].body["stream"] is True
    logged = [r.getMessage() for r in caplog.records if r.name == "ragline.step"]
    assert logged[:2] == ["answer> first line", "answer> second line"]
    assert logged[2].startswith("generate: answer -> openai/m [answer[0]]")


def test_no_api_key_in_output_logs_artifacts_or_errors(
    tmp_path: Path, prefect: str, cli: Any, openai_server: FakeOpenAI, api_key: str
) -> None:
    openai_server.set_behavior("denied", "401")
    openai_server.set_behavior("flaky", "500")
    ok = qa_workflow(tmp_path, {"answer": fake_deployments(openai_server, "ok")})
    good = cli("run", str(ok), "-p", "question=hello", "--json", env={"RAGLINE_DEBUG": "0"})
    assert good.returncode == 0, good.stderr
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = qa_workflow(
        bad_dir,
        {"answer": fake_deployments(openai_server, "denied", "flaky")},
        routing={"num_retries": 1},
    )
    failed = cli("run", str(bad), "-p", "question=hello")
    assert failed.returncode == 1
    assert (
        "Incorrect API key provided: ***" in failed.stderr
    )  # the provider echoed it; we masked it
    assert any(r.behavior == "401" for r in openai_server.requests)
    stored = _stored(prefect, "artifacts") + _stored(prefect, "logs")
    assert "model-usage" in stored and "Incorrect API key provided" in stored
    for text in (good.stdout, good.stderr, failed.stdout, failed.stderr, stored):
        assert api_key not in text


def _stored(api: str, kind: str) -> str:
    """Everything the Prefect server keeps of that kind (artifacts, logs), as JSON text."""
    import httpx

    response = httpx.post(f"{api}/{kind}/filter", json={"limit": 200, "offset": 0}, timeout=30)
    response.raise_for_status()
    return response.text


def test_usage_is_summed_over_the_run_in_one_artifact(
    tmp_path: Path, prefect: str, openai_server: FakeOpenAI
) -> None:
    import httpx

    path = qa_workflow(tmp_path, {"answer": fake_deployments(openai_server, "m")})
    data = yaml.safe_load(path.read_text())
    data["steps"].append(
        {
            "id": "again",
            "uses": "generate",
            "with": {"model": "answer", "prompt": "Say it again", "temperature": 0},
        }
    )
    path.write_text(yaml.safe_dump(data))
    state = compile_workflow(load_workflow(path))(question="q", return_state=True)
    flow_run_id = str(state.state_details.flow_run_id)
    response = httpx.post(
        f"{prefect}/artifacts/filter",
        json={
            "limit": 50,
            "offset": 0,
            "artifacts": {"key": {"any_": ["model-usage-total"]}},
            "flow_runs": {"id": {"any_": [flow_run_id]}},
        },
    )
    response.raise_for_status()
    [artifact] = response.json()
    rows = json.loads(artifact["data"]) if isinstance(artifact["data"], str) else artifact["data"]
    assert [r["model"] for r in rows] == ["openai/m", "TOTAL"]
    assert rows[0]["calls"] == rows[-1]["calls"] == 2
    assert rows[-1]["prompt_tokens"] == rows[0]["prompt_tokens"] > 0


def test_a_long_lived_process_does_not_accumulate_routers(
    tmp_path: Path, openai_server: FakeOpenAI, prefect: str
) -> None:
    """Each run's Router leaves LiteLLM's callback lists when the run ends (as `serve` needs)."""
    import litellm

    def hooks() -> int:
        return sum(
            len(getattr(litellm, name))
            for name in (
                "callbacks",
                "success_callback",
                "_async_success_callback",
                "failure_callback",
                "_async_failure_callback",
            )
        )

    path = qa_workflow(tmp_path, {"answer": fake_deployments(openai_server, "m")})
    flow = compile_workflow(load_workflow(path))
    flow(question="first?")
    after_one = hooks()
    for i in range(3):
        flow(question=f"question {i}?")
    assert hooks() == after_one
    assert len(openai_server.calls("m")) == 4
