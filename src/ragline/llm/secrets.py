"""Resolve `env:NAME` / `secret:NAME` references at run time, never earlier, never logged."""

from __future__ import annotations

import os
from typing import Any

from ragline.errors import ConfigError
from ragline.llm.redact import register_secret


def resolve_secret(ref: str, where: str) -> str:
    """The value behind a reference; `where` names the workflow field for the error message."""
    kind, _, name = ref.partition(":")
    if kind == "env":
        value = os.environ.get(name)
        if not value:
            raise ConfigError(
                f"{where}: environment variable {name} is not set",
                hint=f"export {name}=... before the run (the workflow refers to it as '{ref}')",
            )
    elif kind == "secret":
        value = _prefect_secret(name, where, ref)
    else:
        raise ConfigError(
            f"{where}: '{ref}' is not a secret reference",
            hint="write 'env:NAME' or 'secret:PREFECT_SECRET_BLOCK'",
        )
    register_secret(value)
    return value


def _prefect_secret(name: str, where: str, ref: str) -> str:
    from prefect.blocks.system import Secret

    try:
        block: Any = Secret.load(name)
    except Exception as exc:  # a missing block is a ValueError; an unreachable API is another error
        raise ConfigError(
            f"{where}: cannot load Prefect Secret block '{name}' ({type(exc).__name__})",
            hint=f"create it in the Prefect UI (Blocks > Secret) or with "
            f"`Secret(value=...).save('{name}')`; the workflow refers to it as '{ref}'",
        ) from None
    value: Any = block.get()
    return str(value)
