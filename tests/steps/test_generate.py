"""`generate`: bad configs `ragline validate` refuses, and a call to the offline
`local/extractive` model through the run's LiteLLM Router (no server, no Prefect).

Covered elsewhere, not repeated here: a misspelt key and wrong types
(tests/data/invalid/unknown_keys, wrong_types), an undefined alias
(references_and_aliases), a response_format property of an unknown type, and calls over
HTTP to the fake OpenAI server (tests/llm/test_generate_step.py, integration tier).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.llm.types import Prompt
from ragline.sdk import StepContext
from ragline.steps.generate import GenerateConfig, generate
from ragline.testing.fixtures import workflow_model

from .bad_configs import assert_refused, bad

BAD = [
    bad("model missing", "prompt: hi", (1, 1), "missing required key 'model'", "'generate'"),
    bad(
        "neither prompt nor messages",
        "model: answer",
        (1, 1),
        "set exactly one of 'prompt' or 'messages'",
    ),
    bad(
        "both prompt and messages",
        "model: answer\nprompt: hi\nmessages: [{role: user, content: hi}]",
        (1, 1),
        "set exactly one of 'prompt' or 'messages'",
    ),
    bad(
        "a message without content",
        "model: answer\nmessages: [{role: user}]",
        (2, 12),
        "missing required key 'content'",
    ),
    bad(
        "a negative temperature",
        "model: answer\nprompt: hi\ntemperature: -0.5",
        (3, 14),
        "-0.5 is out of range",
        "at least 0",
    ),
    bad("stop as one string", "model: answer\nprompt: hi\nstop: END", (3, 7), "expected a list"),
    bad(
        "stream not a flag", "model: answer\nprompt: hi\nstream: often", (3, 9), "expected boolean"
    ),
    bad("params as a list", "model: answer\nprompt: hi\nparams: [seed]", (3, 9), "a mapping"),
    bad(
        "a JSON type misspelt in response_format",
        "model: answer\nprompt: hi\nresponse_format: {type: objekt}",
        (3, 25),
        "not a valid JSON Schema at type: 'objekt' is not a JSON type",
        "did you mean 'object'?",
    ),
    bad(
        "a response_format that is not a schema mapping",
        "model: answer\nprompt: hi\nresponse_format: json",
        (3, 18),
        "expected a mapping",
    ),
]


@pytest.mark.parametrize(("body", "at", "words"), BAD)
def test_validate_refuses_a_bad_config_where_it_is_written(
    tmp_path: Path, body: str, at: tuple[int, int], words: tuple[str, ...]
) -> None:
    assert_refused(tmp_path, "generate", body, at, words)


CONTEXTS = (
    "Contexts:\n\n"
    "[stores.md#0] LanceDB keeps the vectors in a folder next to the workflow file.\n\n"
    "[retries.md#0] Prefect retries a failed task after the configured delays.\n\n"
    "Question: Where are the vectors kept?"
)


def test_an_offline_model_answers_from_the_prompt_with_usage_on_the_output(
    tmp_path: Path,
) -> None:
    workflow = workflow_model(models={"answer": [{"model": "local/extractive"}]})
    ctx = StepContext(step_id="generate", workflow=workflow, workflow_dir=tmp_path)
    prompt = Prompt(
        text=CONTEXTS,
        messages=[
            {"role": "system", "content": "Answer only from the contexts."},
            {"role": "user", "content": CONTEXTS},
        ],
    )

    out = generate(GenerateConfig(model="answer", prompt=prompt, temperature=0), ctx)

    assert out.text.startswith("LanceDB keeps the vectors in a folder next to the workflow file.")
    assert "[stores.md#0]" in out.text and "Prefect" not in out.text
    assert out.model == "local/extractive"
    assert out.usage.prompt_tokens > 0 and out.usage.cost_usd == 0.0
    [row] = ctx.metrics["model_usage"]
    assert (row["alias"], row["model"], row["cache_hits"]) == ("answer", "local/extractive", 0)
