"""Resolve `env:NAME` / `secret:NAME` references at run time, never earlier, never logged."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ragline.errors import ConfigError
from ragline.llm.redact import register_secret

if TYPE_CHECKING:
    from ragline.spec.model import Workflow


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


def register_workflow_secrets(workflow: Workflow) -> None:
    """At the start of a run: register every `env:` secret the workflow names, if it is set.

    Keys are otherwise resolved when the first model call builds the Router; a step
    that runs before that must already see them masked. `secret:` blocks are read
    from Prefect only when they are used.
    """
    refs = [d.api_key for deployments in workflow.models.values() for d in deployments]
    refs.append(workflow.cache.url)
    for ref in refs:
        if ref and ref.startswith("env:"):
            value = os.environ.get(ref.removeprefix("env:"))
            if value:
                register_secret(value)
    for name in workflow.secret_env:
        value = os.environ.get(name)
        if value:
            register_secret(value)
