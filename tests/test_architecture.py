"""The architecture contracts in pyproject.toml hold (docs/architecture.md): one way
down through the layers, no import cycles, the workflow format and validation free
of prefect, litellm and lancedb, step types and the SDK free of prefect."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.integration  # runs lint-imports as a subprocess
def test_import_linter_contracts_are_kept() -> None:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "install the dev extra: pip install -e '.[dev]' (import-linter)"
    result = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in (
        "The workflow spec stays light: validate never needs prefect, litellm or lancedb",
        "Step types and the step SDK never import Prefect: the compiler wraps them",
        "Layers: one way down, from the CLI to the workflow format",
        "No import cycles between the modules of a package",
    ):
        assert f"{name} KEPT" in result.stdout
