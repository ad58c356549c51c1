"""ragline: declarative YAML workflows for generative-AI pipelines.

Importing the package stays cheap on purpose: `ragline validate` and
`ragline --help` must never pull in prefect, litellm or torch.
"""

from ragline.errors import ConfigError, RaglineError, StepError, WorkflowError

__version__ = "0.1.0"

__all__ = ["ConfigError", "RaglineError", "StepError", "WorkflowError", "__version__"]
