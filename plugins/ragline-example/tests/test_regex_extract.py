"""regex-extract works as a plain function, is found through its entry point,
and `ragline validate` checks its pattern before anything runs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from ragline_example.regex_extract import RegexExtractConfig, regex_extract

from ragline.errors import WorkflowError
from ragline.sdk import StepContext
from ragline.sdk.registry import discover
from ragline.validation.workflow import load_workflow


def _context(tmp_path: Path) -> StepContext:
    workflow = load_workflow(_workflow(tmp_path, 'pattern: "x"')).workflow
    return StepContext(
        step_id="cite", workflow=workflow, workflow_dir=tmp_path, logger=logging.getLogger("test")
    )


def _workflow(folder: Path, with_lines: str) -> Path:
    path = folder / "extract.yaml"
    path.write_text(
        "apiVersion: ragline/v1\nname: extract\nsteps:\n"
        "  - id: cite\n    uses: regex-extract\n    with:\n"
        '      text: "See [p1] and [p3], then [p1] again."\n'
        f"      {with_lines}\n"
    )
    return path


def test_named_groups_become_fields_of_each_match(tmp_path: Path) -> None:
    config = RegexExtractConfig(
        text=["See [p1] and [p3].", "Only [p2]."], pattern=r"\[(?P<id>p\d+)\]"
    )
    result = regex_extract(config, _context(tmp_path))
    assert result.values == ["[p1]", "[p3]", "[p2]"]
    assert [m.groups["id"] for m in result.matches] == ["p1", "p3", "p2"]
    assert [m.source for m in result.matches] == [0, 0, 1]
    assert result.matches[0].start == 4


def test_unique_flags_and_max_matches(tmp_path: Path) -> None:
    text = "A1 a1 b2 A1"
    ctx = _context(tmp_path)
    unique = regex_extract(
        RegexExtractConfig(text=text, pattern=r"a\d", flags=["ignorecase"], unique=True), ctx
    )
    assert unique.values == ["A1", "a1"]
    capped = regex_extract(RegexExtractConfig(text=text, pattern=r"\w\d", max_matches=2), ctx)
    assert capped.count == 2


def test_the_step_type_is_registered_through_its_entry_point() -> None:
    registry = discover()
    assert registry.get("regex-extract").func is regex_extract.func
    assert registry.origin["regex-extract"] == "ragline-example"


def test_validate_reports_a_pattern_that_does_not_compile(tmp_path: Path) -> None:
    path = _workflow(tmp_path, 'pattern: "[p(\\\\d"')
    with pytest.raises(WorkflowError) as err:
        load_workflow(path)
    [diag] = err.value.diagnostics
    assert (diag.line, diag.col, diag.path) == (8, 16, "steps[0].with.pattern")
    assert diag.message.startswith("the pattern does not compile: unterminated character set")


def test_validate_accepts_a_good_pattern(tmp_path: Path) -> None:
    loaded = load_workflow(_workflow(tmp_path, 'pattern: "\\\\[(?P<id>p\\\\d+)\\\\]"'))
    assert loaded.workflow.steps[0].with_["pattern"] == r"\[(?P<id>p\d+)\]"
