"""`prompt`: bad configs `ragline validate` refuses, and inline chat messages rendered with
cited contexts.

Covered elsewhere, not repeated here: unbound template variables, a missing template
file, template syntax errors (tests/prompts/test_prompt_step.py), templates outside the
roots (tests/data/invalid/template_outside_roots), token budgets and the sandbox.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.documents import RetrievedChunk
from ragline.sdk import StepContext
from ragline.steps.prompt import MessageTemplate, PromptConfig, prompt
from ragline.testing.fixtures import workflow_model

from .bad_configs import assert_refused, bad

BAD = [
    bad(
        "no template at all",
        "vars: {question: hi}",
        (1, 1),
        "set exactly one of 'template', 'text' or 'messages' (got none)",
    ),
    bad(
        "two templates",
        "text: Hi\nmessages: [{role: user, content: Hi}]",
        (1, 1),
        "set exactly one of 'template', 'text' or 'messages' (got text, messages)",
    ),
    bad(
        "a role chat models do not know",
        "messages: [{role: robot, content: Hi}]",
        (1, 19),
        "'robot' is not one of system, user, assistant",
    ),
    bad(
        "a token budget of zero",
        "text: Hi\nmax_input_tokens: 0",
        (2, 19),
        "0 is out of range",
        "more than 0",
    ),
    bad(
        "a tokenizer model alias not defined",
        "text: Hi\nmodel: anwser",
        (2, 8),
        "unknown model alias 'anwser'",
        "did you mean 'answer'?",
    ),
    bad("vars as a list", "text: Hi\nvars: [question]", (2, 7), "expected a mapping"),
    bad("contexts_var not a name", "text: Hi\ncontexts_var: 3", (2, 15), "expected string"),
    bad("a typo in a key", "txt: Hi", (1, 1), "'txt' is not a field of prompt", "'text'?"),
]


@pytest.mark.parametrize(("body", "at", "words"), BAD)
def test_validate_refuses_a_bad_config_where_it_is_written(
    tmp_path: Path, body: str, at: tuple[int, int], words: tuple[str, ...]
) -> None:
    assert_refused(tmp_path, "prompt", body, at, words)


def test_inline_messages_render_with_cited_contexts_and_a_content_hash(tmp_path: Path) -> None:
    text = "LanceDB keeps vectors in a folder."
    contexts = [RetrievedChunk(id="c1", document_id="stores.md", source="stores.md", text=text)]
    config = PromptConfig(
        messages=[
            MessageTemplate(role="system", content="Answer only from the contexts."),
            MessageTemplate(role="user", content="{{ contexts | cite }}\n\nQ: {{ question }}"),
        ],
        vars={"question": "Where are vectors kept?", "contexts": contexts},
    )
    ctx = StepContext(step_id="prompt", workflow=workflow_model(), workflow_dir=tmp_path)

    out = prompt(config, ctx)

    assert [m.role for m in out.messages] == ["system", "user"]
    user = out.messages[1].content
    assert "[stores.md#0] LanceDB keeps vectors in a folder." in user
    assert user.endswith("Q: Where are vectors kept?")
    assert out.text.startswith("Answer only from the contexts.\n\n[stores.md#0]")
    assert out.metadata["contexts"] == ["stores.md#0"]  # which contexts the prompt cites
    assert out.content_hash.startswith("sha256:")
    assert prompt(config, ctx).content_hash == out.content_hash  # same template, same hash
