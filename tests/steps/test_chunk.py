"""`chunk`: bad configs `ragline validate` refuses, and a run on a three-section document.

Covered elsewhere, not repeated here: overlap/size on the config model itself and the
splitting rules in detail (tests/chunking/test_chunking.py), a size over the embedding
model's window (tests/data/invalid/chunk_over_model_window).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.chunking import token_counter
from ragline.documents import Document
from ragline.sdk import StepContext
from ragline.steps.chunk import ChunkConfig, chunk
from ragline.testing.fixtures import workflow_model

from .bad_configs import assert_accepted, assert_refused, bad

DOCS = "documents: ${{ steps.upstream.output }}"

BAD = [
    bad(
        "documents written as a literal",
        "documents: docs/guide.md",
        (1, 12),
        "'documents' takes an earlier step's output",
        "'${{ steps.ID.output }}'",
    ),
    bad(
        "documents from a step that does not exist",
        "documents: ${{ steps.upstrem.output }}",
        (1, 12),
        "unknown reference 'steps.upstrem.output'",
        "did you mean 'steps.upstream.output'?",
    ),
    bad(
        "documents missing",
        "size: 100",
        (1, 1),
        "missing required key 'documents'",
        "step type 'chunk'",
    ),
    bad("size below the minimum", f"{DOCS}\nsize: 4", (2, 7), "4 is out of range", "at least 8"),
    bad("size not a number", f"{DOCS}\nsize: large", (2, 7), "expected integer", "'large'"),
    bad(
        "unknown strategy",
        f"{DOCS}\nstrategy: sentences",
        (2, 11),
        "'sentences' is not one of tokens, recursive, markdown",
    ),
    bad("unknown unit", f"{DOCS}\nunit: words", (2, 7), "'words' is not one of tokens, chars"),
    bad(
        "overlap as large as size",
        f"{DOCS}\nsize: 100\noverlap: 100",
        (3, 10),
        "overlap (100) must be smaller than size (100)",
        "lower overlap or raise size",
    ),
    bad(
        # The default overlap counts too; the step has no `overlap:` to point at.
        "a size below the default overlap",
        f"{DOCS}\nsize: 20",
        (1, 1),
        "overlap (32) must be smaller than size (20)",
    ),
    bad(
        "windows of tokens counted in characters",
        f"{DOCS}\nstrategy: tokens\nunit: chars",
        (3, 7),
        "strategy tokens counts tokens",
        "use unit: tokens, or strategy recursive",
    ),
    bad("a typo in a key", f"{DOCS}\noverlapp: 10", (2, 1), "did you mean 'overlap'?"),
]


@pytest.mark.parametrize(("body", "at", "words"), BAD)
def test_validate_refuses_a_bad_config_where_it_is_written(
    tmp_path: Path, body: str, at: tuple[int, int], words: tuple[str, ...]
) -> None:
    assert_refused(tmp_path, "chunk", body, at, words)


def test_overlap_given_as_a_reference_waits_for_the_run(tmp_path: Path) -> None:
    # A number behind a reference is unknown until the run: no rule may guess it.
    assert_accepted(
        tmp_path, "chunk", f"{DOCS}\nsize: 100\noverlap: ${{{{ steps.upstream.output }}}}"
    )


GUIDE = """\
# Guide

ragline runs declarative workflows. Each step is a task.

## Install

Run make setup. It creates a virtual environment with every dependency pinned.

## Plugins

A plugin registers its step types under the ragline.steps entry point group.
"""


def test_a_markdown_document_becomes_sized_chunks_with_ids_and_heading_paths() -> None:
    document = Document(id="guide.md", text=GUIDE, source="guide.md", title="Guide")
    config = ChunkConfig(documents=[document], strategy="markdown", size=32, overlap=0)
    ctx = StepContext(step_id="chunk", workflow=workflow_model(), workflow_dir=Path("."))

    chunks = chunk(config, ctx)

    assert [c.metadata["headings"] for c in chunks] == [
        ["Guide"],
        ["Guide", "Install"],
        ["Guide", "Plugins"],
    ]
    assert all(c.text in GUIDE for c in chunks)  # exact slices of the document
    assert chunks[1].text.startswith("## Install\n\nRun make setup.")
    count = token_counter()
    assert all(count(c.text) <= 32 for c in chunks)
    assert len({c.id for c in chunks}) == 3 and all(len(c.id) == 32 for c in chunks)
    assert [c.index for c in chunks] == [0, 1, 2]
    assert {(c.document_id, c.source, c.title) for c in chunks} == {
        ("guide.md", "guide.md", "Guide")
    }
    assert ctx.metrics == {"documents": 1, "chunks": 3}
    # The same text gives the same ids: re-chunking an unchanged document changes nothing.
    assert [c.id for c in chunk(config, ctx)] == [c.id for c in chunks]
