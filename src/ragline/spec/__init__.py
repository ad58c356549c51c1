"""The workflow format: YAML loaded with positions, the typed model, expressions.

The lowest layer of ragline. Nothing here imports prefect, litellm or lancedb
(an import-linter contract keeps it so), nor the step SDK: checking a workflow
against the registered step types is `ragline.validation`'s job.
"""

from ragline.spec.loader import LoadedYaml, load_yaml_file, load_yaml_text

__all__ = ["LoadedYaml", "load_yaml_file", "load_yaml_text"]
