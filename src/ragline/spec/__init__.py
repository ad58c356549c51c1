"""Workflow files: load with positions, validate, and type.

Nothing here imports prefect, litellm or lancedb (an import-linter contract
keeps it so): validation must stay fast and runnable anywhere.
"""

from ragline.spec.loader import LoadedYaml, load_yaml_file, load_yaml_text
from ragline.spec.validate import load_workflow, validate_file

__all__ = ["LoadedYaml", "load_workflow", "load_yaml_file", "load_yaml_text", "validate_file"]
