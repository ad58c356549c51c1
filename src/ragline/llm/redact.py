"""Keep API keys out of logs, artifacts and error messages.

Keys are resolved at run time (`env:NAME`, `secret:NAME`) and registered here;
every message ragline builds from a provider error passes through `redact`,
and a logging filter on LiteLLM's loggers masks them in records LiteLLM logs.
"""

from __future__ import annotations

import logging
import threading

_secrets: set[str] = set()
_lock = threading.Lock()
MASK = "***"
_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx", "openai")


def register_secret(value: str) -> None:
    """Remember a resolved key so it is masked wherever it would appear."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Masks registered secrets in a record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _lock:
            empty = not _secrets
        if empty:
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_filter = RedactingFilter()


def install_log_filters() -> None:
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
