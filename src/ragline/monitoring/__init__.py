"""Monitoring: structured JSON log lines, run events, model-call records, progress.

Nothing here imports Prefect: step code (which must stay Prefect-free) may call
into it, and the compiler hands it the run and step ids it knows.
"""

from ragline.monitoring.events import current_scope, emit, scope
from ragline.monitoring.logs import configure_logging, log_format

__all__ = ["configure_logging", "current_scope", "emit", "log_format", "scope"]
