"""Prefect entrypoint of every ragline deployment: `flows/run_workflow.py:workflow`.

`ragline deploy` and `ragline serve` point each deployment here. The
deployment's pull step (`ragline.ops.entrypoint.use_workflow`) names the
workflow file and changes into this folder's parent; `workflow` is then that
file compiled to a Prefect flow named after the workflow, whose parameters
are its `inputs:`. Keep this file in your project (beside `workflows/`) when
workers run on other hosts.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # Compiled on access, not at import: importing this file without a deployment's
    # pull step having run (an editor, a linter) must not fail.
    if name == "workflow":
        from ragline.ops.entrypoint import deployment_flow

        return deployment_flow()
    raise AttributeError(name)
