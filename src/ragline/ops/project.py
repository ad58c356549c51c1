"""Where a deployment's code lives: the project folder holding `flows/run_workflow.py`.

A deployment points at `flows/run_workflow.py:workflow` relative to a project
folder; its pull step changes into that folder on the worker, as Prefect's
`set_working_directory` step does. The project folder is the nearest folder
above the workflow file that has `flows/run_workflow.py` (a user's own
project), else the ragline checkout this package was installed from. Workers
on other hosts need the same folder at the same path (a shared checkout or
volume); the README shows how.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ragline.errors import ConfigError

ENTRY_FILE = Path("flows") / "run_workflow.py"
ENTRYPOINT = f"{ENTRY_FILE.as_posix()}:workflow"


@dataclass(frozen=True)
class CodeLocation:
    """The project folder a worker changes into, and the workflow file as seen from it."""

    project_dir: Path
    workflow_path: str

    @property
    def entrypoint(self) -> str:
        return ENTRYPOINT


def _candidates(workflow_file: Path) -> list[Path]:
    override = os.environ.get("RAGLINE_PROJECT_DIR")
    if override:
        return [Path(override).resolve()]
    here = workflow_file.resolve().parent
    checkout = Path(__file__).resolve().parents[3]  # src/ragline/ops/project.py -> checkout
    return [here, *here.parents, checkout]


def locate(workflow_file: Path) -> CodeLocation:
    """The code location of a workflow file; ConfigError when no flows/ entrypoint exists."""
    for folder in _candidates(workflow_file):
        if (folder / ENTRY_FILE).is_file():
            resolved = workflow_file.resolve()
            try:
                relative = resolved.relative_to(folder).as_posix()
            except ValueError:
                relative = str(resolved)
            return CodeLocation(folder, relative)
    raise ConfigError(
        f"no {ENTRY_FILE} found above {workflow_file} nor in the ragline checkout: "
        "deployments need it as their Prefect entrypoint",
        hint="copy flows/run_workflow.py from the ragline repository into your project, "
        "or set RAGLINE_PROJECT_DIR to a folder that has it",
    )
