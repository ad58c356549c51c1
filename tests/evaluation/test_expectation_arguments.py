"""great-expectations arguments are checked by `ragline validate` against the fields
each GX expectation declares, without importing GX; at run time GX's own reason
is reported when it refuses arguments or cannot evaluate an expectation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ragline.errors import ErrorCategory, StepError
from ragline.evaluation.expectations import (
    FIELDS_TABLE,
    argument_problems,
    build_fields_table,
    run_suite,
)
from ragline.validation.workflow import validate_file

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests/data/invalid/bad_expectation_arguments.yaml"
ROWS = [{"id": "a", "text": "LanceDB stores vectors."}, {"id": "b", "text": "x"}]


def test_the_fields_table_matches_the_installed_great_expectations() -> None:
    import json

    assert json.loads(FIELDS_TABLE.read_text()) == build_fields_table(), (
        "regenerate it: python -c 'from ragline.evaluation.expectations import "
        "write_fields_table; write_fields_table()'"
    )


def test_validate_names_an_unknown_argument_and_a_missing_one_with_their_lines() -> None:
    found = [(d.line, d.path.rsplit(".", 1)[-1], d.message) for d in validate_file(BAD)]
    assert [(line, last) for line, last, _ in found] == [
        (17, "column_values_to_be_unique"),
        (17, "columnn"),
        (18, "max_vlaue"),
    ]
    assert "needs the argument 'column'" in found[0][2]
    assert "did you mean 'column'?" in found[1][2]
    assert "did you mean 'max_value'?" in found[2][2]


def test_common_options_and_the_expect_prefix_are_accepted() -> None:
    assert argument_problems("expect_column_values_to_not_be_null", {"column": "id"}) == []
    assert argument_problems("table_row_count_to_be_between", {"result_format": "SUMMARY"}) == []


PROBE = """\
import contextlib, io, sys
from ragline.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
print(code, "great_expectations" in sys.modules)
"""


@pytest.mark.integration
def test_checking_arguments_does_not_import_great_expectations() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "validate", str(BAD)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.split() == ["2", "False"], result.stderr


def test_arguments_gx_refuses_at_run_time_fail_as_input_with_its_reason() -> None:
    with pytest.raises(StepError) as err:
        run_suite("chunks", ROWS, [{"column_values_to_be_unique": {"columnn": "id"}}])
    assert err.value.category == ErrorCategory.INPUT
    assert not err.value.retryable
    assert "column: field required; columnn: extra fields not permitted" in str(err.value)


def test_a_missing_column_fails_with_gx_reason_and_the_columns_there_are() -> None:
    [outcome] = run_suite("chunks", ROWS, [{"column_values_to_be_unique": {"column": "nope"}}])
    assert not outcome.success
    assert outcome.reason == 'The column "nope" in BatchData does not exist. (columns: id, text)'


def test_the_evaluate_step_says_why_gx_could_not_evaluate_an_expectation(
    tmp_path: Path,
) -> None:
    from ragline.sdk.context import StepContext
    from ragline.steps.evaluate import EvaluateConfig, evaluate
    from ragline.testing.fixtures import workflow_model

    config = EvaluateConfig.model_validate(
        {
            "expectations": {
                "chunks": {
                    "data": ROWS,
                    "expect": [{"column_values_to_be_unique": {"column": "ids"}}],
                }
            },
            "record": False,
        }
    )
    ctx = StepContext(step_id="evaluate", workflow=workflow_model(), workflow_dir=tmp_path)
    with pytest.raises(StepError) as err:
        evaluate(config, ctx)
    assert (
        "expectation chunks.column_values_to_be_unique failed (great-expectations could not "
        'evaluate it: The column "ids" in BatchData does not exist. '
        "(columns: cites_source, id, length, text))"
    ) in str(err.value)
