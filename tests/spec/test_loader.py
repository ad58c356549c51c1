"""The YAML loader keeps 1-based positions for values and keys and refuses what
PyYAML would accept silently (duplicate keys, aliases, timestamps as dates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.errors import WorkflowError
from ragline.spec.loader import MAX_NESTING, format_path, load_yaml_text
from ragline.validation.workflow import load_workflow

TEXT = """\
apiVersion: ragline/v1
steps:
  - id: a
    with: {value: 2024-01-01, n: 3}
"""


def test_positions_are_one_based_for_values_and_keys() -> None:
    loaded = load_yaml_text(TEXT, "wf.yaml")
    assert loaded.position(("apiVersion",)) == (1, 13)
    assert loaded.position(("apiVersion",), key=True) == (1, 1)
    assert loaded.position(("steps", 0, "id")) == (3, 9)
    assert loaded.position(("steps", 0, "with", "n")) == (4, 34)
    # A path that does not exist falls back to the nearest enclosing value.
    assert loaded.position(("steps", 0, "with", "missing")) == (4, 11)


def test_dates_stay_strings_as_json_schema_expects() -> None:
    assert load_yaml_text(TEXT).data["steps"][0]["with"]["value"] == "2024-01-01"


def test_every_duplicate_key_is_reported_not_only_the_first() -> None:
    with pytest.raises(WorkflowError) as err:
        load_yaml_text("a: 1\nb: 2\na: 3\nb: 4\n", "dup.yaml")
    assert [(d.line, d.col, d.path) for d in err.value.diagnostics] == [(3, 1, "a"), (4, 1, "b")]


def test_merge_keys_are_refused() -> None:
    with pytest.raises(WorkflowError) as err:
        load_yaml_text("base: {x: 1}\nother:\n  <<: {x: 2}\n", "merge.yaml")
    [diag] = err.value.diagnostics
    assert (diag.line, diag.col) == (3, 3)
    assert "merge keys (<<) are not allowed" in diag.message


def test_json_paths_read_like_the_docs() -> None:
    assert format_path(("steps", 3, "with", "chunks")) == "steps[3].with.chunks"
    assert format_path(()) == "(top level)"


def _nested_workflow(depth: int) -> str:
    """A workflow whose deepest value is `depth` keys and indexes below the top level."""
    inner = depth - 3  # `value:` is at steps[0].with.value, the first '[' one level below
    return (
        "apiVersion: ragline/v1\nname: deep\nsteps:\n  - id: a\n    uses: value\n"
        f"    with:\n      value: {'[' * inner}{']' * inner}\n"
    )


def test_nesting_up_to_the_limit_validates_like_any_workflow(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(_nested_workflow(MAX_NESTING))
    assert load_workflow(path).workflow.steps[0].id == "a"


def test_nesting_past_the_limit_is_refused_at_the_first_level_too_deep() -> None:
    with pytest.raises(WorkflowError) as err:
        load_yaml_text(_nested_workflow(MAX_NESTING + 1), "deep.yaml")
    [diag] = err.value.diagnostics
    # The first "[" (column 14) is 4 levels down; each "[" is one level and one column more.
    assert (diag.line, diag.col) == (7, 14 + MAX_NESTING + 1 - 4)
    assert diag.path == "steps[0].with.value" + "[0]" * (MAX_NESTING + 1 - 4)
    assert f"nested more than {MAX_NESTING} levels" in diag.message


def test_a_thousand_levels_of_block_mappings_are_refused_without_a_traceback() -> None:
    text = "a:\n" + "".join("  " * i + "b:\n" for i in range(1, 1000))
    with pytest.raises(WorkflowError) as err:
        load_yaml_text(text, "deep.yaml")
    [diag] = err.value.diagnostics
    assert diag.line == MAX_NESTING + 1
    assert diag.path == "a" + ".b" * MAX_NESTING
