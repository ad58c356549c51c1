"""A partitioned `index` (slices stage, one commit adds them) leaves the table an
unpartitioned one leaves: the same rows, the same retrieval results; and a rerun of
the unchanged corpus writes nothing."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from ragline.compiler.flow import compile_workflow
from ragline.sdk.registry import default_registry
from ragline.store import open_chunk_table
from ragline.validation.workflow import load_workflow

pytestmark = pytest.mark.integration

WORKFLOW = """\
    apiVersion: ragline/v1
    name: partitioned-index
    models:
      embedder: [{{model: local/all-MiniLM-L6-v2}}]
    stores:
      docs: {{uri: .ragline/lancedb, table: docs}}
    steps:
      - id: ingest
        uses: ingest
        with: {{paths: ["corpus/*.md"]}}
      - id: chunk
        uses: chunk
        with: {{documents: "${{{{ steps.ingest.output }}}}", size: 48, overlap: 0}}
      - id: embed
        uses: embed
        with: {{chunks: "${{{{ steps.chunk.output }}}}", model: embedder}}
      - id: index
        uses: index
        {partition}
        with: {{chunks: "${{{{ steps.embed.output }}}}", store: docs, sync: true}}
      - id: retrieve
        uses: retrieve
        needs: [index]
        with:
          query: "which page keeps the lighthouse"
          store: docs
          k: 5
          model: embedder
    outputs:
      index: "${{{{ steps.index.output }}}}"
      found: "${{{{ steps.retrieve.output }}}}"
    """

TOPICS = ["lighthouse", "orchard", "glacier", "harbour", "observatory", "library", "mill"]


def _project(folder: Path, partition: str) -> Path:
    (folder / "corpus").mkdir(parents=True)
    for i, topic in enumerate(TOPICS):
        body = " ".join(f"The {topic} keeps record {i}-{j}." for j in range(12))
        (folder / "corpus" / f"{topic}.md").write_text(f"# The {topic}\n\n{body}\n")
    path = folder / "workflow.yaml"
    path.write_text(textwrap.dedent(WORKFLOW).format(partition=partition))
    return path


def _run(path: Path) -> dict[str, Any]:
    registry = default_registry()
    return compile_workflow(load_workflow(path, registry), registry)()  # type: ignore[no-any-return]


def _rows(folder: Path) -> list[tuple[str, str, str]]:
    table = open_chunk_table(str(folder / ".ragline/lancedb"), "docs").require()
    rows = table.search().select(["id", "document_id", "text"]).limit(None).to_list()
    return sorted((r["id"], r["document_id"], r["text"]) for r in rows)


def test_a_partitioned_index_stores_and_retrieves_what_one_task_does(
    tmp_path: Path, prefect: str
) -> None:
    whole = _run(_project(tmp_path / "whole", ""))
    parted_path = _project(tmp_path / "parted", "partition: {count: 3}")
    parted = _run(parted_path)

    assert _rows(tmp_path / "parted") == _rows(tmp_path / "whole")
    assert parted["index"].rows == whole["index"].rows > len(TOPICS)
    assert parted["index"].fts_rebuilt
    assert [c.id for c in parted["found"]] == [c.id for c in whole["found"]]
    assert "lighthouse" in parted["found"][0].text

    (tmp_path / "parted" / "corpus" / "mill.md").unlink()  # sync: its chunks go
    again = _run(parted_path)
    assert again["index"].added == 0 and again["index"].deleted > 0
    assert all("mill" not in row[1] for row in _rows(tmp_path / "parted"))
    unchanged = _run(parted_path)
    assert (unchanged["index"].added, unchanged["index"].deleted) == (0, 0)
