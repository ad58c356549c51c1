"""A partitioned step runs as one Prefect task run per slice of its list input
(`embed[0]`, `embed[1]`, ...), each cached on its own content; downstream steps see
one list, in order, the same as without partitions."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import TaskRunSort

from ragline.compiler.flow import compile_workflow
from ragline.sdk.registry import default_registry
from ragline.validation.workflow import load_workflow

pytestmark = pytest.mark.integration

INGESTION = """\
    apiVersion: ragline/v1
    name: partitioned-ingest
    models:
      embedder: [{model: local/all-MiniLM-L6-v2}]
    stores:
      docs: {uri: .ragline/lancedb, table: docs}
    defaults: {partition: {size: 2}}
    steps:
      - id: ingest
        uses: ingest
        with: {paths: ["corpus/*.md"]}
      - id: chunk
        uses: chunk
        partition: {count: 2}
        with: {documents: "${{ steps.ingest.output }}", size: 64, overlap: 8}
      - id: embed
        uses: embed
        with: {chunks: "${{ steps.chunk.output }}", model: embedder}
      - id: index
        uses: index
        with: {chunks: "${{ steps.embed.output }}", store: docs}
    outputs:
      chunks: "${{ steps.embed.output }}"
      rows: "${{ steps.index.output.rows }}"
    """

PAGES = {
    f"page{i}.md": f"# Page {i}\n\nPage {i} says something different: fact number {i * 7}.\n"
    for i in range(5)
}


def _corpus(folder: Path, workflow: str) -> Path:
    (folder / "corpus").mkdir(parents=True)
    for name, text in PAGES.items():
        (folder / "corpus" / name).write_text(text)
    path = folder / "workflow.yaml"
    path.write_text(textwrap.dedent(workflow))
    return path


def _run(path: Path) -> Any:
    registry = default_registry()
    return compile_workflow(load_workflow(path, registry), registry)(return_state=True)


def _task_states(flow_run_id: UUID) -> dict[str, str]:
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=100,
        )
    return {r.name: r.state.name for r in runs if r.state is not None}


def test_a_partitioned_ingestion_gives_the_same_chunks_in_order_as_one_task(
    tmp_path: Path, prefect: str
) -> None:
    partitioned = _run(_corpus(tmp_path / "partitioned", INGESTION))
    plain = _run(
        _corpus(
            tmp_path / "plain",
            INGESTION.replace("    defaults: {partition: {size: 2}}\n", "").replace(
                "        partition: {count: 2}\n", ""
            ),
        )
    )

    assert partitioned.is_completed() and plain.is_completed()
    out, ref = partitioned.result(), plain.result()
    assert [c.id for c in out["chunks"]] == [c.id for c in ref["chunks"]]
    for got, want in zip(out["chunks"], ref["chunks"], strict=True):
        assert got.vector == pytest.approx(want.vector, abs=1e-5)
    assert out["rows"] == ref["rows"] == 5
    states = _task_states(partitioned.state_details.flow_run_id)
    assert {"chunk[0]", "chunk[1]"} <= set(states)  # count: 2
    assert {"embed[0]", "embed[1]", "embed[2]"} <= set(states)  # defaults size 2 over 5 chunks
    assert "chunk" not in states and "embed" not in states


def test_a_rerun_after_editing_one_file_reruns_only_the_slices_it_changed(
    tmp_path: Path, prefect: str
) -> None:
    path = _corpus(tmp_path, INGESTION)
    first = _run(path)
    assert first.is_completed()

    (tmp_path / "corpus" / "page4.md").write_text("# Page 4\n\nPage 4 was edited today.\n")
    second = _run(path)

    assert second.is_completed()
    states = _task_states(second.state_details.flow_run_id)
    # page4 is the last document: only the last slice of each step holds it.
    assert states["chunk[0]"] == "Cached" and states["chunk[1]"] == "Completed"
    assert states["embed[0]"] == states["embed[1]"] == "Cached"
    assert states["embed[2]"] == "Completed"
    assert "edited today" in second.result()["chunks"][-1].text
