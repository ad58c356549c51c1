"""Keep secrets out of outputs, logs, caches and error messages (docs/security.md).

A secret is a value resolved from a reference (`env:NAME`, `secret:NAME`) or
read by `${{ env.NAME }}` under a secret-looking or `secret_env:` name; it is
registered here when it is resolved. From then on:

- every log record of the process is masked when it is created (a record factory,
  so every logger and handler, Prefect's API handler included, sees `***`);
- `mask_secrets` masks a value: the compiler applies it to every step output and
  to the run's outputs, so prompts, model requests, persisted results, the CLI's
  text and `--json` output never carry a secret;
- every message ragline builds from a provider error, and every model answer
  before it reaches the response cache, passes through `redact`.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any, TypeVar

from pydantic import BaseModel

_secrets: set[str] = set()
_lock = threading.Lock()
MASK = "***"
_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "httpx", "openai")
_ATOM_TYPES = frozenset({int, float, bool, type(None)})
T = TypeVar("T")
_factory_installed = False


def register_secret(value: str) -> None:
    """Remember a resolved secret so it is masked wherever it would appear."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)
        _install_record_factory()


def registered() -> bool:
    with _lock:
        return bool(_secrets)


def redact(text: str) -> str:
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    return text


def mask_secrets(value: T) -> T:
    """`value` with every registered secret in its strings replaced by `***`.

    Walks mappings, lists, tuples and pydantic models; parts without a secret are
    returned as the same objects (nothing is copied when nothing is registered).
    """
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    if not secrets:
        return value
    masked: T = _mask(value, secrets)
    return masked


def _mask(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for s in secrets:
            if s in value:
                value = value.replace(s, MASK)
        return value
    if isinstance(value, BaseModel):
        return _mask_model(value, secrets)
    if isinstance(value, dict):
        out = {k: _mask(v, secrets) for k, v in value.items()}
        return out if any(out[k] is not v for k, v in value.items()) else value
    if isinstance(value, (list, tuple)):
        return _mask_sequence(value, secrets)
    return value


def _mask_model(value: BaseModel, secrets: list[str]) -> BaseModel:
    changes = {}
    for name in type(value).model_fields:
        item = getattr(value, name)
        new = _mask(item, secrets)
        if new is not item:
            changes[name] = new
    return value.model_copy(update=changes) if changes else value


def _mask_sequence(value: list[Any] | tuple[Any, ...], secrets: list[str]) -> Any:
    """A list or tuple with its secrets masked; the same object when nothing changed."""
    if value and _numbers_only(value):
        return value
    items = list(value)
    changed = False
    for i, item in enumerate(items):
        if type(item) in _ATOM_TYPES:
            continue
        new = _mask(item, secrets)
        if new is not item:
            items[i], changed = new, True
    if not changed:
        return value
    return items if isinstance(value, list) else type(value)(items)


def _numbers_only(items: list[Any] | tuple[Any, ...]) -> bool:
    """A vector: thousands of floats, no text (`fsum` refuses anything that is not a number)."""
    try:
        math.fsum(items)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _clean(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record is logging's to report, not ours
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None


def _install_record_factory() -> None:
    """Mask every log record of the process once a secret exists."""
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        _factory_installed = True
    base = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        _clean(record)
        return record

    logging.setLogRecordFactory(factory)


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
