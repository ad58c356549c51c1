"""Which upstream slices a partition of a step is handed: only those that hold its items,
when the partitioned field is a partitioned step's whole output (no Prefect here)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from ragline.compiler.flow import read_by_outputs
from ragline.compiler.partitions import Part
from ragline.compiler.plan import plan
from ragline.compiler.scheduling import Share, sole_source, windows
from ragline.sdk.registry import default_registry
from ragline.spec.model import Partition
from ragline.validation.workflow import load_workflow

WORKFLOW = """\
    apiVersion: ragline/v1
    name: shares
    models:
      embedder: [{model: local/all-MiniLM-L6-v2}]
    stores:
      docs: {uri: .ragline/lancedb, table: docs}
    steps:
      - id: ingest
        uses: ingest
        with: {paths: ["corpus/*.md"]}
      - id: chunk
        uses: chunk
        with: {documents: "${{ steps.ingest.output }}"}
      - id: embed
        uses: embed
        with: {chunks: "${{ steps.chunk.output }}", model: embedder}
      - id: index
        uses: index
        with: {chunks: "${{ steps.embed.output }}", store: "${{ steps.chunk.output[0].id }}"}
    """


def _items(shares: list[Share], lengths: list[int]) -> list[list[int]]:
    """The item numbers each share ends up with, as a task would slice them."""
    starts = [sum(lengths[:j]) for j in range(len(lengths))]
    out = []
    for share in shares:
        assert share.upstream is not None and share.part.window is not None
        given = [starts[j] + k for j in share.upstream for k in range(lengths[j])]
        lo, hi = share.part.window
        out.append(given[lo:hi])
    return out


def test_each_slice_is_handed_the_upstream_slices_holding_its_items_and_cut_like_the_whole() -> (
    None
):
    lengths = [3, 0, 5, 1, 4]
    for partition in (Partition(count=4), Partition(size=2), Partition(count=20)):
        shares = windows(partition, lengths)
        total = sum(lengths)
        whole = [list(range(*Part(s.part.index, s.part.count).bounds(total))) for s in shares]
        assert _items(shares, lengths) == whole
        for share in shares:  # never more than the slices that overlap it
            assert share.upstream is not None and len(share.upstream) <= 3


def test_only_a_whole_step_output_read_nowhere_else_is_a_source(tmp_path: Path) -> None:
    path = tmp_path / "workflow.yaml"
    path.write_text(textwrap.dedent(WORKFLOW))
    registry = default_registry()
    workflow = load_workflow(path, registry).workflow
    planned = {p.spec.id: p for p in plan(workflow)}

    def source(step: str) -> str | None:
        return sole_source(planned[step], registry.get(planned[step].spec.uses))

    assert source("chunk") == "ingest"
    assert source("embed") == "chunk"
    assert source("index") == "embed"  # `store` reads chunk, not embed
    assert read_by_outputs(workflow) == {"index"}  # no `outputs:`: the last step

    path.write_text(
        textwrap.dedent(WORKFLOW).replace("steps.chunk.output[0]", "steps.embed.output[0]")
    )
    workflow = load_workflow(path, registry).workflow
    planned = {p.spec.id: p for p in plan(workflow)}
    assert source("index") is None  # it reads embed's output twice: every slice gets it all
