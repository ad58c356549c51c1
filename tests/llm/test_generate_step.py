"""The generate step called as a plain function (no Prefect), over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ragline.sdk.context import StepContext
from ragline.steps.generate import GenerateConfig, generate
from ragline.testing.fixtures import fake_deployments, workflow_model
from ragline.testing.openai_server import FakeOpenAI


def _ctx(fake: FakeOpenAI, folder: Path) -> StepContext:
    wf = workflow_model(models={"answer": fake_deployments(fake, "m")})
    return StepContext(step_id="generate", workflow=wf, workflow_dir=folder)


def test_messages_and_a_system_message_are_sent_as_given(
    openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    ctx = _ctx(openai_server, tmp_path)
    config = GenerateConfig(
        model="answer",
        system="Be brief.",
        stop=["\n\n"],
        max_tokens=20,
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Again"},
        ],
        params={"seed": 7},
    )
    out = generate(config, ctx)
    sent = openai_server.calls("m")[0].body
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "user"]
    assert sent["stop"] == ["\n\n"] and sent["max_tokens"] == 20 and sent["seed"] == 7
    assert out.text == "echo: Again"
    assert out.metadata["deployment"] == "answer[0]"
    [row] = ctx.metrics["model_usage"]
    assert row["alias"] == "answer" and row["model"] == "openai/m" and row["latency_ms"] > 0


def test_usage_accumulates_per_call_in_the_step_metrics(
    openai_server: FakeOpenAI, tmp_path: Path
) -> None:
    ctx = _ctx(openai_server, tmp_path)
    generate(GenerateConfig(model="answer", prompt="one", temperature=0), ctx)
    generate(GenerateConfig(model="answer", prompt="one", temperature=0), ctx)
    rows = ctx.metrics["model_usage"]
    assert [r["cache_hits"] for r in rows] == [0, 1]
    [artifact] = ctx.metrics["artifacts"]
    assert len(artifact["data"]) == 2


def test_prompt_and_messages_are_mutually_exclusive() -> None:
    with pytest.raises(ValueError, match="exactly one of 'prompt' or 'messages'"):
        GenerateConfig(model="answer")


def test_an_alias_identity_follows_the_alias_and_its_fallbacks_only() -> None:
    from ragline.llm.identity import alias_identity

    def key(**models: list[dict[str, Any]]) -> str:
        wf = workflow_model(models=models, routing={"fallbacks": {"answer": ["backup"]}})
        return alias_identity(wf, "answer")

    local = [{"model": "local/extractive"}]
    base = key(answer=local, backup=local, other=local)
    assert key(answer=local, backup=local, other=[{"model": "local/smollm2"}]) == base
    assert key(answer=local, backup=[{"model": "local/smollm2"}], other=local) != base
    assert key(answer=[{"model": "local/smollm2"}], backup=local, other=local) != base
    # Every key of a deployment but the secret and the traffic knobs is identity.
    assert key(answer=[{**local[0], "params": {"backend": "onnx"}}], backup=local) != base
    assert key(answer=[{"model": "openai/m", "api_base": "http://a/v1"}], backup=local) != key(
        answer=[{"model": "openai/m", "api_base": "http://b/v1"}], backup=local
    )
    keyed = [{"model": "openai/m", "api_key": "env:ONE", "rpm": 10, "timeout": 5}]
    assert key(answer=keyed, backup=local) == key(
        answer=[{"model": "openai/m", "api_key": "env:TWO", "rpm": 99}], backup=local
    )


def test_validate_rejects_a_response_format_that_is_not_json_schema(tmp_path: Path) -> None:
    from ragline.errors import WorkflowError
    from ragline.testing.fixtures import write_workflow
    from ragline.validation.workflow import load_workflow

    path = write_workflow(
        tmp_path,
        {
            "models": {"answer": [{"model": "local/extractive"}]},
            "steps": [
                {
                    "id": "generate",
                    "uses": "generate",
                    "with": {
                        "model": "answer",
                        "prompt": "q",
                        "response_format": {
                            "type": "object",
                            "properties": {"n": {"type": "integr"}},
                        },
                    },
                }
            ],
        },
    )
    with pytest.raises(WorkflowError) as err:
        load_workflow(path)
    [diag] = err.value.diagnostics
    assert diag.path == "steps[0].with.response_format.properties.n.type"
    assert "not a valid JSON Schema at properties/n/type" in diag.message
