"""`value`: bad configs `ragline validate` refuses, and a value passed through as it is.

Covered elsewhere, not repeated here: a misspelt key (tests/data/invalid/unknown_keys),
unknown references and needs (missing_step), a step reading its own output
(self_reference), secrets in expressions (env_secret), attribute access
(expression_attributes).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.sdk import StepContext
from ragline.steps.value import ValueConfig, value
from ragline.testing.fixtures import workflow_model
from ragline.validation import validate_file

from .bad_configs import PRELUDE, assert_refused, bad

BAD = [
    bad("with as a list", "[1, 2]", (1, 1), "expected a mapping", "found a list"),
    bad(
        "a key that is not a field",
        "value: 1\nextra: 2",
        (2, 1),
        "'extra' is not a field of value",
        "(fields: value)",
    ),
    bad(
        "an expression never closed",
        "value: '${{ steps.upstream.output'",
        (1, 8),
        "opens an expression that is never closed",
        "end it with '}}'",
    ),
    bad(
        "an output read without .output",
        "value: ${{ steps.upstream.text }}",
        (1, 8),
        "must read 'steps.ID.output'",
    ),
    bad(
        "a source an expression cannot read",
        "value: ${{ step.upstream.output }}",
        (1, 8),
        "'step' is not something an expression can read",
        "use 'inputs.', 'steps.ID.output' or 'env.'",
    ),
    bad(
        "an index never closed",
        "value: ${{ steps.upstream.output[0 }}",
        (1, 8),
        "is not a data path (at '[0')",
    ),
]


@pytest.mark.parametrize(("body", "at", "words"), BAD)
def test_validate_refuses_a_bad_config_where_it_is_written(
    tmp_path: Path, body: str, at: tuple[int, int], words: tuple[str, ...]
) -> None:
    assert_refused(tmp_path, "value", body, at, words)


def test_a_step_without_with_is_told_which_key_it_needs(tmp_path: Path) -> None:
    path = tmp_path / "workflow.yaml"
    path.write_text(PRELUDE.format(uses="value").removesuffix("    with:\n"))
    [problem] = validate_file(path)
    assert (problem.line, problem.col) == (12, 5)  # the step, which has no with: to point at
    assert problem.message == "missing required key 'value' in the with: of step type 'value'"


def test_the_value_is_the_output_as_written() -> None:
    ctx = StepContext(step_id="v", workflow=workflow_model(), workflow_dir=Path("."))
    given = {"question": "Where are vectors kept?", "k": 3, "tags": ["faq", None]}
    assert value(ValueConfig(value=given), ctx) == given
