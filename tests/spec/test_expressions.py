"""`${{ }}` expressions are data paths: they read values, they never run code."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from ragline.spec.expressions import ExpressionError, MissingValue, parse, resolve


class Answer(BaseModel):
    text: str
    sources: list[str]


SCOPE = {
    "inputs": {"question": "why?", "top_k": 4},
    "steps": {
        "generate": Answer(text="because", sources=["a.md", "b.md"]),
        "rows": [{"id": 1}, {"id": 2}],
    },
    "env": {"HOME": "/home/ada"},
}


def test_a_whole_expression_keeps_the_type_of_what_it_reads() -> None:
    assert resolve("${{ inputs.top_k }}", SCOPE) == 4
    assert resolve("${{ steps.generate.output.sources }}", SCOPE) == ["a.md", "b.md"]
    assert resolve("  ${{ steps.rows.output[1].id }} ", SCOPE) == 2


def test_an_expression_inside_text_is_interpolated() -> None:
    assert resolve("Q: ${{ inputs.question }} A: ${{ steps.generate.output }}", SCOPE) == (
        "Q: why? A: because"
    )
    assert resolve({"k": ["${{ env.HOME }}/x", 3]}, SCOPE) == {"k": ["/home/ada/x", 3]}


@pytest.mark.parametrize(
    "code",
    [
        "__import__('os').system('touch /tmp/pwned')",
        "inputs.question.upper()",
        "inputs['question']",
        "1 + 1",
        "steps.generate.output if True else 0",
        "globals",
    ],
)
def test_anything_but_a_data_path_is_refused_not_evaluated(code: str) -> None:
    with pytest.raises(ExpressionError):
        resolve("${{ " + code + " }}", SCOPE)


def test_parse_names_the_kind_name_and_path() -> None:
    ref = parse(" steps.embed.output[0].vector ")
    assert (ref.kind, ref.name, ref.path) == ("steps", "embed", (0, "vector"))
    with pytest.raises(ExpressionError, match=re.escape("must read 'steps.ID.output'")):
        parse("steps.embed.result")


def test_a_missing_value_at_run_time_says_what_exists() -> None:
    with pytest.raises(MissingValue, match=re.escape("index [5] is out of range (2 items)")):
        resolve("${{ steps.rows.output[5] }}", SCOPE)
    with pytest.raises(MissingValue, match=re.escape("'inputs.nope': 'nope' is not set")):
        resolve("${{ inputs.nope }}", SCOPE)
