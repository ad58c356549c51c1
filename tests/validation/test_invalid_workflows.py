"""Every kind of bad workflow gets a clear, positioned message and exit code 2.

Each case in tests/data/invalid/ is a workflow (`x.yaml`) beside the exact
stderr it must produce (`x.expected`), compared verbatim through the real
`ragline` command, so a change in wording or position shows in review.
`x.args` replaces the default command line `validate x.yaml`.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragline.errors import WorkflowError
from ragline.sdk.registry import default_registry
from ragline.spec.loader import MAX_WORKFLOW_BYTES
from ragline.validation.workflow import load_workflow

INVALID = Path(__file__).resolve().parents[1] / "data" / "invalid"
CASES = sorted(p.stem for p in INVALID.glob("*.expected"))


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under folder with its size and mtime: to prove nothing was written."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
    }


def test_the_corpus_covers_every_bad_input_of_the_issue() -> None:
    assert set(CASES) >= {
        "malformed",
        "tab_indent",
        "duplicate_key",
        "empty",
        "top_level_list",
        "wrong_api_version",
        "unknown_keys",
        "wrong_types",
        "cycle",
        "self_reference",
        "missing_step",
        "missing_output_field",
        "run_param_wrong_type",
        "missing_file",
        "billion_laughs",
        "deep_nesting",
        "run_param_nan",
        "bad_schedules",
        "bad_expectation_arguments",
    }


@pytest.mark.parametrize("case", CASES)
def test_invalid_workflow_gives_the_expected_diagnostics(case: str, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    work = tmp_path / "invalid"
    shutil.copytree(INVALID, work)
    before = snapshot(work)
    args_file = work / f"{case}.args"
    args = (
        shlex.split(args_file.read_text()) if args_file.exists() else ["validate", f"{case}.yaml"]
    )
    prefect_home = tmp_path / "prefect-home"

    result = cli(*args, cwd=work, env={"PREFECT_HOME": str(prefect_home)}, timeout=30)

    assert result.stderr == (work / f"{case}.expected").read_text()
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert snapshot(work) == before  # nothing written beside the workflow
    assert not prefect_home.exists()  # Prefect was never started


def test_a_10_mb_workflow_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("w") as f:
        f.write(
            "apiVersion: ragline/v1\nname: big\nsteps:\n  - id: a\n    uses: value\n"
            "    with:\n      value:\n"
        )
        line = "        - " + "x" * 90 + "\n"
        f.write(line * (10_000_000 // len(line)))
    assert path.stat().st_size > 9_900_000
    default_registry()  # loaded once per process: not part of what is timed
    started = time.perf_counter()
    with pytest.raises(WorkflowError) as err:
        load_workflow(path)
    elapsed = time.perf_counter() - started
    [diag] = err.value.diagnostics
    assert (diag.line, diag.col, diag.path) == (1, 1, "(file)")
    assert f"workflow files are limited to {MAX_WORKFLOW_BYTES // 1_000_000} MB" in diag.message
    assert elapsed < 1.0  # a guard against parsing first, not a speed figure


def test_a_billion_laughs_file_is_refused_at_the_first_alias(tmp_path: Path) -> None:
    # 30 levels of 9 aliases each would expand to 9**30 items if aliases were followed.
    lines = ["apiVersion: ragline/v1", "name: laughs", 'l0: &l0 ["lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 31)]
    lines += ["steps:", "  - {id: a, uses: value, with: {value: *l30}}"]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    with pytest.raises(WorkflowError) as err:
        load_workflow(path)
    assert time.perf_counter() - started < 1.0  # refused, never expanded
    [diag] = err.value.diagnostics
    assert (diag.line, diag.col) == (4, 10)
    assert "YAML aliases (*l0) are not allowed" in diag.message


def test_a_file_that_is_not_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"apiVersion: ragline/v1\nname: caf\xe9\n")
    with pytest.raises(WorkflowError) as err:
        load_workflow(path)
    [diag] = err.value.diagnostics
    assert (diag.line, diag.path) == (2, "(file)")
    assert "not valid UTF-8" in diag.message


@pytest.mark.integration  # the real `ragline` command
def test_debug_shows_the_traceback_a_user_error_otherwise_hides() -> None:
    # Subprocess: --debug re-raises, and only an uncaught exception prints a traceback.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ragline.cli.main",
            "--debug",
            "validate",
            str(INVALID / "cycle.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        env=os.environ.copy(),
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "ragline.errors.WorkflowError" in result.stderr
