"""`ingest`: bad configs `ragline validate` refuses, and a run over a folder of two files.

Covered elsewhere, not repeated here: every file format, skipped and over-limit files,
roots and symlinks (tests/ingest/test_ingest.py, tests/ingest/test_fields.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.sdk import StepContext
from ragline.steps.ingest import IngestConfig, ingest
from ragline.testing.fixtures import workflow_model

from .bad_configs import assert_refused, bad

BAD = [
    bad("paths missing", "strict: true", (1, 1), "missing required key 'paths'", "'ingest'"),
    bad("paths as one string", "paths: docs/*.md", (1, 8), "expected a list", "'docs/*.md'"),
    bad("no paths at all", "paths: []", (1, 8), "needs at least 1 item"),
    bad(
        "max_files zero", "paths: [docs]\nmax_files: 0", (2, 12), "0 is out of range", "at least 1"
    ),
    bad(
        "max_file_bytes negative",
        "paths: [docs]\nmax_file_bytes: -1",
        (2, 17),
        "-1 is out of range",
        "at least 1",
    ),
    bad(
        "a format ingest cannot read",
        "paths: [docs]\nformats: {.rst: rst}",
        (2, 17),
        "'rst' is not one of text, markdown, html, pdf, json, jsonl, csv",
    ),
    bad(
        "an extension without its dot",
        "paths: [docs]\nformats: {rst: text}",
        (2, 10),
        "'rst' is not a file extension",
        "e.g. '.rst'",
    ),
    bad(
        "an encoding Python does not know",
        "paths: [docs]\nencoding: utf-99",
        (2, 11),
        "unknown text encoding 'utf-99'",
        "did you mean",
    ),
    bad("strict not a flag", "paths: [docs]\nstrict: maybe", (2, 9), "expected boolean", "'maybe'"),
    bad("a typo in a key", "paths: [docs]\ntext_fild: body", (2, 1), "did you mean 'text_field'?"),
    bad(
        "a path from an undeclared input",
        "paths: ['${{ inputs.folder }}']",
        (1, 9),
        "unknown reference 'inputs.folder'",
        "declare it under 'inputs:'",
    ),
]


@pytest.mark.parametrize(("body", "at", "words"), BAD)
def test_validate_refuses_a_bad_config_where_it_is_written(
    tmp_path: Path, body: str, at: tuple[int, int], words: tuple[str, ...]
) -> None:
    assert_refused(tmp_path, "ingest", body, at, words)


def test_a_key_with_a_dot_reads_apart_from_the_path(tmp_path: Path) -> None:
    body = "paths: [docs]\nformats: {.rst: rst}"
    problem = assert_refused(tmp_path, "ingest", body, (2, 17), ("is not one of",))
    assert problem.path == "steps[1].with.formats['.rst']"


def test_a_folder_of_two_files_becomes_two_documents_with_their_sources(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "install.md").write_text("# Install\n\nRun make setup.\n")
    (docs / "notes.rst").write_text("Notes on retries.\n")
    ctx = StepContext(step_id="ingest", workflow=workflow_model(), workflow_dir=tmp_path)
    config = IngestConfig(paths=["docs/*"], formats={".rst": "text"})

    documents = ingest(config, ctx)

    assert [(d.id, d.source, d.format) for d in documents] == [
        ("docs/install.md", "docs/install.md", "markdown"),
        ("docs/notes.rst", "docs/notes.rst", "text"),
    ]
    assert documents[0].title == "Install"  # a markdown document's first heading
    assert documents[1].text == "Notes on retries.\n"
    assert all(len(d.content_hash) == 64 and d.size > 0 for d in documents)
    assert (ctx.metrics["documents"], ctx.metrics["files"], ctx.metrics["skipped"]) == (2, 2, 0)
