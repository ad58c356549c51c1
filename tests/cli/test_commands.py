"""The offline commands: graph, steps, schema, validate, --version; and what they
must never import (prefect, litellm, torch), so they stay fast anywhere."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ragline

ROOT = Path(__file__).resolve().parents[2]

DIAMOND = """\
apiVersion: ragline/v1
name: diamond
inputs:
  text: {type: string, default: "a1 b2"}
steps:
  - {id: source, uses: value, with: {value: "${{ inputs.text }}"}}
  - {id: letters, uses: regex-extract, with: {text: "${{ steps.source.output }}", pattern: "[a-z]"}}
  - {id: digits, uses: regex-extract, with: {text: "${{ steps.source.output }}", pattern: "[0-9]"}}
  - id: report
    uses: value
    needs: [source]
    with: {value: ["${{ steps.letters.output.values }}", "${{ steps.digits.output.values }}"]}
"""


def test_version(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("--version")
    assert (result.returncode, result.stdout) == (0, f"ragline {ragline.__version__}\n")


def test_graph_prints_the_dag_as_mermaid(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "diamond.yaml").write_text(DIAMOND)
    result = cli("graph", "diamond.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "flowchart TD\n"
        '    s_source["source<br/><i>value</i>"]\n'
        '    s_letters["letters<br/><i>regex-extract</i>"]\n'
        '    s_digits["digits<br/><i>regex-extract</i>"]\n'
        '    s_report["report<br/><i>value</i>"]\n'
        "    s_source --> s_letters\n"
        "    s_source --> s_digits\n"
        "    s_digits --> s_report\n"
        "    s_letters --> s_report\n"
        "    s_source -.-> s_report\n"
    )


def test_graph_of_an_invalid_workflow_is_a_positioned_error(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.yaml").write_text(DIAMOND.replace("needs: [source]", "needs: [sorce]"))
    result = cli("graph", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "bad.yaml:11:13  steps[3].needs[0]\n"
        "  unknown step 'sorce' in needs; did you mean 'source'?\n"
        "1 problem in bad.yaml\n"
    )


def test_steps_lists_built_in_and_plugin_step_types_with_their_fields(cli) -> None:  # type: ignore[no-untyped-def]
    text = cli("steps").stdout
    assert "value (v1, ragline): Output a value built from inputs and upstream outputs." in text
    assert "regex-extract (v1, ragline-example):" in text
    assert (
        "  - pattern: str (required)  A Python regular expression; named groups become fields."
        in text
    )
    assert "  - flags: list['ignorecase' | 'multiline' | 'dotall'] (default [])" in text

    listed = json.loads(cli("steps", "--json").stdout)
    by_name = {s["name"]: s for s in listed["steps"]}
    assert by_name["regex-extract"]["output"] == "Extraction"
    assert [f["name"] for f in by_name["regex-extract"]["fields"]] == [
        "text",
        "pattern",
        "flags",
        "max_matches",
        "unique",
    ]
    assert {"value", "prompt", "generate"} <= set(by_name)


def test_validate_reports_each_file_and_fails_if_any_is_invalid(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "good.yaml").write_text(DIAMOND)
    (tmp_path / "bad.yaml").write_text(DIAMOND.replace('pattern: "[0-9]"', 'pattern: "[0-9"'))
    result = cli("validate", "good.yaml", "bad.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == "good.yaml: ok\n"
    assert "bad.yaml:8:91  steps[2].with.pattern\n  the pattern does not compile:" in result.stderr


def test_every_shipped_workflow_validates_and_names_the_schema(cli) -> None:  # type: ignore[no-untyped-def]
    files = sorted((ROOT / "workflows").glob("*.yaml"))
    assert files
    for path in files:
        first = path.read_text().splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schemas/workflow.schema.json", path
    result = cli("validate", *map(str, files))
    assert result.returncode == 0, result.stderr


def _schema_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", folder)
    return folder


def test_checked_in_schemas_are_current(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    folder = _schema_copy(tmp_path)
    result = cli("schema", "--check", "--dir", str(folder))
    assert result.returncode == 0, f"{result.stderr}run `ragline schema` and commit schemas/"


def test_schema_check_fails_on_an_edited_missing_or_extra_file(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    folder = _schema_copy(tmp_path)
    (folder / "workflow.schema.json").write_text("{}\n")
    (folder / "steps" / "value.schema.json").unlink()
    (folder / "steps" / "retired.schema.json").write_text("{}\n")
    result = cli("schema", "--check", "--dir", str(folder))
    assert result.returncode == 1
    assert result.stderr == (
        f"stale schemas in {folder}/: steps/retired.schema.json, steps/value.schema.json, "
        "workflow.schema.json; run 'ragline schema' and commit the result\n"
    )

    assert cli("schema", "--dir", str(folder)).returncode == 0
    assert cli("schema", "--check", "--dir", str(folder)).returncode == 0
    assert not (folder / "steps" / "retired.schema.json").exists()


def test_the_plugin_step_extends_the_editor_schema() -> None:
    schema = json.loads((ROOT / "schemas" / "workflow.schema.json").read_text())
    assert "regex-extract" in schema["$defs"]["StepSpec"]["properties"]["uses"]["enum"]
    with_ = schema["$defs"]["regex-extract__with"]
    assert with_["required"] == ["text", "pattern"]
    assert with_["additionalProperties"] is False
    assert (ROOT / "schemas" / "steps" / "regex-extract.schema.json").is_file()


PROBE = """\
import contextlib, io, sys
from ragline.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exit:
        code = exit.code
HEAVY = {"prefect", "litellm", "torch", "lancedb", "sentence_transformers", "great_expectations"}
heavy = sorted({name.split(".")[0] for name in sys.modules} & HEAVY)
print(code, ",".join(heavy))
"""


@pytest.mark.integration  # each case is a fresh `python` subprocess
@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["validate", "workflows/answer_offline.yaml"],
        ["validate", "tests/data/invalid/unknown_keys.yaml"],
        ["graph", "workflows/answer_offline.yaml"],
        ["schema", "--check"],
        ["steps"],
        ["run", "tests/data/invalid/run_param_wrong_type.yaml", "-p", "top_k=four"],
    ],
)
def test_offline_commands_never_import_prefect_litellm_or_torch(args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    code, heavy = result.stdout.split(" ")
    assert heavy.strip() == "", f"ragline {' '.join(args)} imported {heavy.strip()}"
    assert code in {"0", "2"}, result.stderr
