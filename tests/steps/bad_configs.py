"""Bad `with:` configs as tiny workflow files, checked the way `ragline validate` checks them.

A case is the body of one step's `with:`, written as a user would write it. The
helper puts it into a small workflow that already defines what a step may name
(model aliases `embedder` and `answer`, store `docs`, an upstream step `upstream`),
validates the file, and asserts the message found at `at`: the (line, column)
inside the body, 1-based as an editor shows them.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from ragline.errors import Diagnostic
from ragline.validation import validate_file

PRELUDE = """\
apiVersion: ragline/v1
name: bad-config
models:
  embedder: [{{model: local/all-MiniLM-L6-v2}}]
  answer: [{{model: local/extractive}}]
stores:
  docs: {{uri: lancedb, table: docs}}
steps:
  - id: upstream
    uses: value
    with: {{value: []}}
  - id: under-test
    uses: {uses}
    with:
"""
BODY_LINE = PRELUDE.count("\n") + 1  # the file line of the body's first line
INDENT = 6  # the body sits under `with:` of the second step


def bad(case: str, body: str, at: tuple[int, int], *words: str) -> Any:
    """One row of a bad-config table: the `with:` body, where the problem is, what it says."""
    return pytest.param(body, at, words, id=case)


def write_step(folder: Path, uses: str, body: str) -> Path:
    """A workflow whose step `under-test` has type `uses` and this `with:` body."""
    text = PRELUDE.format(uses=uses) + textwrap.indent(
        textwrap.dedent(body).strip("\n"), " " * INDENT
    )
    path = folder / "workflow.yaml"
    path.write_text(text + "\n")
    return path


def assert_refused(
    folder: Path, uses: str, body: str, at: tuple[int, int], words: tuple[str, ...]
) -> Diagnostic:
    """The diagnostic at `at` (body coordinates) names every word; returns it."""
    problems = validate_file(write_step(folder, uses, body))
    where = (BODY_LINE + at[0] - 1, INDENT + at[1])
    shown = "\n".join(p.render() for p in problems) or "none: the config was accepted"
    found = [p for p in problems if (p.line, p.col) == where]
    assert found, f"no problem at {where[0]}:{where[1]}; problems:\n{shown}"
    message = " / ".join(p.message for p in found)
    missing = [w for w in words if w not in message]
    assert not missing, f"{missing} not in the message at {where[0]}:{where[1]}: {message}"
    return found[0]


def assert_accepted(folder: Path, uses: str, body: str) -> None:
    problems = validate_file(write_step(folder, uses, body))
    assert problems == [], "\n".join(p.render() for p in problems)
