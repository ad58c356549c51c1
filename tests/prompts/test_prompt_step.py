"""The prompt step renders versioned, sandboxed templates; validate checks their variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.documents import RetrievedChunk
from ragline.errors import StepError, WorkflowError
from ragline.sdk.context import StepContext
from ragline.spec.model import Workflow
from ragline.steps.prompt import PromptConfig, prompt
from ragline.testing.fixtures import write_workflow
from ragline.validation.workflow import load_workflow

ANSWER = """\
---
version: 3
description: test template
---
<|system|>
Answer only from the contexts.
<|user|>
{{ contexts | cite }}

Question: {{ question }}
"""


def _ctx(folder: Path, **sections: object) -> StepContext:
    wf = Workflow.model_validate(
        {
            "apiVersion": "ragline/v1",
            "name": "t",
            "steps": [{"id": "p", "uses": "value", "with": {"value": 1}}],
            **sections,
        }
    )
    return StepContext(step_id="prompt", workflow=wf, workflow_dir=folder)


def _chunks(*scored: tuple[str, float]) -> list[RetrievedChunk]:
    return [
        RetrievedChunk(
            id=f"c{i}",
            document_id=f"d{i}",
            text=text,
            source=f"docs/file{i}.md",
            index=i,
            score=score,
            rank=i + 1,
        )
        for i, (text, score) in enumerate(scored)
    ]


def test_file_template_renders_chat_messages_with_version_hash_and_citations(
    tmp_path: Path,
) -> None:
    (tmp_path / "answer.j2").write_text(ANSWER)
    config = PromptConfig(
        template="answer.j2",
        vars={"question": "Where is Paris?", "contexts": _chunks(("Paris is in France.", 0.9))},
    )
    out = prompt(config, _ctx(tmp_path))
    assert [m.role for m in out.messages] == ["system", "user"]
    assert (
        out.messages[1].content == "[file0.md#0] Paris is in France.\n\nQuestion: Where is Paris?"
    )
    assert out.version == "3"
    assert out.template == "answer.j2"
    assert out.content_hash.startswith("sha256:") and len(out.content_hash) == 23
    assert out.metadata["contexts"] == ["file0.md#0"]


def test_content_hash_changes_with_the_template_text(tmp_path: Path) -> None:
    (tmp_path / "a.j2").write_text(ANSWER)
    (tmp_path / "b.j2").write_text(ANSWER.replace("Answer only", "Reply only"))
    values = {"question": "q", "contexts": []}
    a = prompt(PromptConfig(template="a.j2", vars=values), _ctx(tmp_path))
    b = prompt(PromptConfig(template="b.j2", vars=values), _ctx(tmp_path))
    assert a.version == b.version == "3"
    assert a.content_hash != b.content_hash


def test_missing_variable_names_the_variable_and_the_template_line(tmp_path: Path) -> None:
    (tmp_path / "answer.j2").write_text(ANSWER)
    with pytest.raises(StepError) as err:
        prompt(PromptConfig(template="answer.j2", vars={"contexts": []}), _ctx(tmp_path))
    assert "answer.j2:10" in str(err.value)
    assert "'question' is undefined" in str(err.value)
    assert err.value.category == "input" and not err.value.retryable


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ question.__class__.__base__ }}",
    ],
)
def test_sandbox_refuses_python_internals(tmp_path: Path, payload: str) -> None:
    with pytest.raises(StepError) as err:
        prompt(PromptConfig(text=payload, vars={"question": "q"}), _ctx(tmp_path))
    assert "sandbox" in str(err.value) or "undefined" in str(err.value)
    assert "uid=" not in str(err.value)


def test_inline_messages_render_each_role(tmp_path: Path) -> None:
    config = PromptConfig(
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi {{ name }}"},
        ],
        vars={"name": "Ann"},
    )
    out = prompt(config, _ctx(tmp_path))
    assert [(m.role, m.content) for m in out.messages] == [
        ("system", "Be brief."),
        ("user", "Hi Ann"),
    ]
    assert out.version == "inline"


def test_contexts_are_trimmed_lowest_score_first_to_fit_the_token_budget(tmp_path: Path) -> None:
    long = "word " * 60
    chunks = _chunks((f"best {long}", 0.9), (f"worst {long}", 0.1), (f"middle {long}", 0.5))
    config = PromptConfig(
        text="{{ contexts | cite }}\nQuestion: {{ question }}",
        vars={"question": "q", "contexts": chunks},
        max_input_tokens=100,
    )
    out = prompt(config, _ctx(tmp_path))
    trimmed = [t["id"] for t in out.metadata["trimmed"]]
    assert trimmed == ["file1.md#1", "file2.md#2"]
    assert out.metadata["contexts"] == ["file0.md#0"]
    assert out.metadata["input_tokens"] <= 100
    assert "worst" not in out.text and "best" in out.text


def test_budget_comes_from_the_model_alias(tmp_path: Path) -> None:
    chunks = _chunks(("alpha " * 100, 0.9), ("beta " * 100, 0.2))
    ctx = _ctx(
        tmp_path, models={"small": [{"model": "openai/gpt-4o-mini", "max_input_tokens": 120}]}
    )
    out = prompt(
        PromptConfig(text="{{ contexts | cite }}", vars={"contexts": chunks}, model="small"), ctx
    )
    assert out.metadata["max_input_tokens"] == 120
    assert out.metadata["tokenizer_model"] == "openai/gpt-4o-mini"
    assert [t["id"] for t in out.metadata["trimmed"]] == ["file1.md#1"]


def test_a_template_that_cannot_fit_even_without_contexts_fails_clearly(tmp_path: Path) -> None:
    config = PromptConfig(
        text="{{ question }} " + "padding " * 50,
        vars={"question": "q", "contexts": []},
        max_input_tokens=10,
    )
    with pytest.raises(StepError, match="without any context, over max_input_tokens 10"):
        prompt(config, _ctx(tmp_path))


def test_exactly_one_template_source_is_required() -> None:
    with pytest.raises(ValueError, match="exactly one of 'template', 'text' or 'messages'"):
        PromptConfig(template="a.j2", text="b")


def _workflow(folder: Path, with_: dict[str, object]) -> Path:
    return write_workflow(
        folder,
        {
            "inputs": {"question": {"type": "string"}},
            "steps": [{"id": "prompt", "uses": "prompt", "with": with_}],
        },
    )


def test_validate_reports_unbound_template_variables_with_positions(tmp_path: Path) -> None:
    (tmp_path / "answer.j2").write_text(ANSWER)
    path = _workflow(
        tmp_path, {"template": "answer.j2", "vars": {"question": "${{ inputs.question }}"}}
    )
    with pytest.raises(WorkflowError) as err:
        load_workflow(path)
    [diag] = err.value.diagnostics
    assert diag.path == "steps[0].with.vars"
    assert (diag.line, diag.col) == (12, 7)  # the `vars:` mapping in the YAML
    assert "answer.j2:8 uses 'contexts', which is not bound in `vars:`" in diag.message


def test_validate_reports_a_missing_template_file(tmp_path: Path) -> None:
    path = _workflow(tmp_path, {"template": "nope.j2", "vars": {}})
    with pytest.raises(WorkflowError) as err:
        load_workflow(path)
    assert "prompt template nope.j2 does not exist" in err.value.render()


def test_validate_reports_template_syntax_errors_with_the_file_line(tmp_path: Path) -> None:
    path = _workflow(tmp_path, {"text": "line one\n{{ question }", "vars": {"question": "x"}})
    with pytest.raises(WorkflowError) as err:
        load_workflow(path)
    assert "with.text:2:" in err.value.render()


def test_validate_accepts_a_fully_bound_template(tmp_path: Path) -> None:
    (tmp_path / "answer.j2").write_text(ANSWER)
    path = _workflow(
        tmp_path,
        {"template": "answer.j2", "vars": {"question": "${{ inputs.question }}", "contexts": []}},
    )
    assert load_workflow(path).workflow.steps[0].uses == "prompt"


def test_validate_checks_inline_chat_messages_too(tmp_path: Path) -> None:
    path = _workflow(
        tmp_path,
        {
            "messages": [
                {"role": "system", "content": "Be {{ tone }}."},
                {"role": "user", "content": "{{ question }}"},
            ]
        },
    )
    with pytest.raises(WorkflowError) as err:
        load_workflow(path)
    messages = sorted(d.message for d in err.value.diagnostics)
    assert len(messages) == 2
    assert "template with.messages[0]:1 uses 'tone'" in messages[0]
    assert "template with.messages[1]:1 uses 'question'" in messages[1]
    assert {d.path for d in err.value.diagnostics} == {
        "steps[0].with.messages[0].content",
        "steps[0].with.messages[1].content",
    }
