"""A workflow file checked whole: its schema, its steps' configs, its references.

Sits above the step SDK (it needs the registered step types) and below the
compiler, which only ever compiles a workflow this package accepted. Still no
prefect, litellm or lancedb: `ragline validate` stays fast.
"""

from ragline.validation.workflow import LoadedWorkflow, load_workflow, validate_file

__all__ = ["LoadedWorkflow", "load_workflow", "validate_file"]
