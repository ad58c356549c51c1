"""`ingest` reads every supported format and skips bad files by name, keeping the rest."""

from __future__ import annotations

import json
import logging
import zlib
from pathlib import Path
from typing import Any

import pytest

from ragline.errors import StepError
from ragline.ingest import discover
from ragline.sdk.context import StepContext
from ragline.spec.model import Workflow
from ragline.steps.ingest import IngestConfig, ingest

WORKFLOW = Workflow.model_validate(
    {"apiVersion": "ragline/v1", "name": "t", "steps": [{"id": "ingest", "uses": "ingest"}]}
)


def run(folder: Path, **config: object) -> tuple[list, StepContext]:  # type: ignore[type-arg]
    ctx = StepContext(step_id="ingest", workflow=WORKFLOW, workflow_dir=folder)
    return ingest(IngestConfig.model_validate(config), ctx), ctx


def minimal_pdf(text: str, *, inflated_padding: int = 0) -> bytes:
    """A one-page PDF with `text`, written byte by byte (offsets computed).

    `inflated_padding`: that many spaces after the text, in a Flate-compressed
    content stream (80 MB of spaces compress to about 80 kB).
    """
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    dictionary = b"<< /Length %d >>"
    if inflated_padding:
        packer = zlib.compressobj(9)
        parts = [packer.compress(stream)]
        block = b" " * 1_000_000
        for start in range(0, inflated_padding, len(block)):
            parts.append(packer.compress(block[: inflated_padding - start]))
        stream = b"".join(parts) + packer.flush()
        dictionary = b"<< /Length %d /Filter /FlateDecode >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        dictionary % len(stream) + b"\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "guide" / "start.md").write_text("# Getting started\n\nInstall ragline with make.\n")
    (docs / "notes.txt").write_text("Plain notes about retries.\n")
    (docs / "page.html").write_text(
        "<html><head><title>FAQ</title><style>body{color:red}</style>"
        "<script>alert('x')</script></head><body><h1>FAQ</h1><p>Ask anything.</p></body></html>"
    )
    (docs / "manual.pdf").write_bytes(minimal_pdf("Prefect runs every step"))
    (docs / "items.jsonl").write_text(
        json.dumps({"id": "a", "body": "First record", "lang": "en"})
        + "\n"
        + json.dumps({"id": "b", "body": "Second record", "lang": "de"})
        + "\n"
    )
    (docs / "table.csv").write_text("sku,name,description\n1,Lamp,A warm light\n2,Desk,Oak\n")
    return tmp_path


def test_each_format_becomes_documents_with_source_metadata(corpus: Path) -> None:
    documents, _ = run(
        corpus,
        paths=["docs/**/*"],
        text_field="body",
        id_field="id",
        csv_columns=["name", "description"],
    )
    by_id = {d.id: d for d in documents}
    assert [d.id for d in documents] == sorted(by_id)
    start = by_id["docs/guide/start.md"]
    assert (start.title, start.format, start.source) == ("Getting started", "markdown", start.id)
    assert start.size == (corpus / start.id).stat().st_size and start.modified > 0
    assert len(start.content_hash) == 64
    html = by_id["docs/page.html"]
    assert html.title == "FAQ" and "Ask anything." in html.text
    assert "alert" not in html.text and "color" not in html.text
    assert "Prefect runs every step" in by_id["docs/manual.pdf"].text
    assert by_id["docs/items.jsonl#a"].text == "First record"
    assert by_id["docs/items.jsonl#b"].metadata["lang"] == "de"
    # csv rows without the id field are keyed by their line number (the header is line 1)
    assert by_id["docs/table.csv#2"].text == "name: Lamp\ndescription: A warm light"
    assert by_id["docs/table.csv#3"].metadata["sku"] == "2"
    assert by_id["docs/notes.txt"].format == "text"


def test_bad_files_are_skipped_by_name_and_the_rest_ingested(corpus: Path) -> None:
    bad = corpus / "docs" / "bad"
    bad.mkdir()
    (bad / "empty.md").write_bytes(b"")
    (bad / "binary.txt").write_bytes(b"\x7fELF\x00\x01\x02binary")
    (bad / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (bad / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    with open(bad / "huge.txt", "wb") as f:  # sparse: 50 MB on paper, nothing on disk
        f.truncate(50_000_000)
    documents, ctx = run(corpus, paths=["docs/**/*.md", "docs/**/*.txt", "docs/**/*.pdf"])
    ids = {d.id for d in documents}
    assert {"docs/guide/start.md", "docs/notes.txt", "docs/manual.pdf"} <= ids
    skipped = {row["file"]: row["reason"] for row in ctx.metrics["artifacts"][0]["data"]}
    assert "empty" in skipped["docs/bad/empty.md"]
    assert "binary" in skipped["docs/bad/binary.txt"]
    assert "not valid utf-8" in skipped["docs/bad/latin1.txt"]
    assert "encoding" in skipped["docs/bad/latin1.txt"]
    assert "could not be parsed as PDF" in skipped["docs/bad/broken.pdf"]
    assert "50.0 MB, over max_file_bytes" in skipped["docs/bad/huge.txt"]
    assert ctx.metrics["skipped"] == 5


def test_strict_fails_and_lists_every_bad_file(corpus: Path) -> None:
    (corpus / "docs" / "empty.txt").write_bytes(b"")
    with pytest.raises(
        StepError, match=r"(?s)1 file\(s\) could not be ingested.*docs/empty.txt: is empty"
    ):
        run(corpus, paths=["docs/*.txt"], strict=True)


def test_paths_outside_the_roots_are_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("do not read")
    project = tmp_path / "project"
    project.mkdir()
    (project / "ok.txt").write_text("fine to read")
    documents, ctx = run(project, paths=["*.txt", "../*.txt"])
    assert [d.id for d in documents] == ["ok.txt"]
    (reason,) = [r["reason"] for r in ctx.metrics["artifacts"][0]["data"]]
    assert "outside the allowed roots" in reason


def test_an_empty_folder_is_an_error_naming_the_patterns(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    with pytest.raises(StepError, match=r"no files match paths \['docs/\*\*/\*.md'\]"):
        run(tmp_path, paths=["docs/**/*.md"])


def test_more_files_than_max_files_is_an_error(corpus: Path) -> None:
    with pytest.raises(StepError, match=r"over max_files \(the walk stopped at file 3\)"):
        run(corpus, paths=["docs/**/*"], max_files=2)


def test_the_walk_stops_as_soon_as_it_passes_max_files(tmp_path: Path) -> None:
    for n in range(40):
        (tmp_path / f"note{n:02}.txt").write_text(f"note {n}")
    found = discover(["*.txt"], tmp_path, [tmp_path], max_files=5)
    assert found.over_limit and len(found.files) == 6
    assert not discover(["*.txt"], tmp_path, [tmp_path], max_files=40).over_limit


def test_a_symlink_loop_is_skipped_by_name_and_the_walk_ends(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "a.md").write_text("# A\n\nFirst.")
    (docs / "guide" / "b.md").write_text("# B\n\nSecond.")
    (docs / "l1").symlink_to(".")
    (docs / "l2").symlink_to(".")
    (docs / "guide" / "up").symlink_to("..")
    documents, ctx = run(tmp_path, paths=["docs/**/*.md"])
    assert [d.id for d in documents] == ["docs/a.md", "docs/guide/b.md"]
    rows = ctx.metrics["artifacts"][0]["data"]
    assert {(r["file"], r["kind"]) for r in rows} == {
        ("docs/l1", "symlink-loop"),
        ("docs/l2", "symlink-loop"),
        ("docs/guide/up", "symlink-loop"),
    }
    assert "leads back to" in rows[0]["reason"]


def test_a_pattern_reaching_above_the_roots_walks_only_towards_them(tmp_path: Path) -> None:
    area = tmp_path / "area"
    (area / "other" / "deep").mkdir(parents=True)
    (area / "other" / "deep" / "private.md").write_text("never listed")
    (area / "top.md").write_text("outside")
    (area / "project" / "docs").mkdir(parents=True)
    (area / "project" / "docs" / "x.md").write_text("# X\n\ninside")
    (area / "project" / "docs" / "escape").symlink_to(area / "other")
    (tmp_path / "sibling").mkdir()
    project = area / "project"
    documents, ctx = run(project, paths=["../**/*.md", "../../sibling/**/*.md"])
    assert [d.id for d in documents] == ["docs/x.md"]
    rows = {r["file"]: r["reason"] for r in ctx.metrics["artifacts"][0]["data"]}
    # folders outside the roots are named once and never entered: private.md is not seen
    assert sorted(rows) == ["../../sibling/**/*.md", "../other", "../top.md", "docs/escape"]
    assert "(not entered)" in rows["../other"] and "(not entered)" in rows["docs/escape"]
    assert "starts at" in rows["../../sibling/**/*.md"]
    assert all("outside the allowed roots" in reason for reason in rows.values())


def test_skipped_files_are_summarised_in_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "keep.txt").write_text("kept")
    for n in range(30):
        (tmp_path / f"blob{n:02}.bin").write_bytes(b"\x00")
    (tmp_path / "loop").symlink_to(".")
    with caplog.at_level(logging.WARNING, logger="ragline.step"):
        documents, ctx = run(tmp_path, paths=["**/*"])
    assert [d.id for d in documents] == ["keep.txt"]
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert line.startswith(
        "31 skipped: 30 unsupported format (blob00.bin, blob01.bin, blob02.bin, blob03.bin, "
        "blob04.bin, ...), "
        "1 symlink loop (loop)"
    )
    assert ctx.metrics["skipped_by_kind"] == {"unsupported": 30, "symlink-loop": 1}
    artifact = ctx.metrics["artifacts"][0]
    assert len(artifact["data"]) == 21  # the first 20 of each kind
    assert "first 20 of each kind" in artifact["description"]


def test_the_cache_key_and_the_step_share_one_walk(corpus: Path) -> None:
    from ragline.steps.ingest import _fingerprint

    config = IngestConfig(paths=["docs/**/*.md"])
    ctx = StepContext(step_id="ingest", workflow=WORKFLOW, workflow_dir=corpus)
    key = _fingerprint(config, ctx)
    (corpus / "docs" / "later.md").write_text("# Later\n\nAdded after the cache key.")
    # the same run reads what its cache key saw: the walk is not repeated
    assert [d.id for d in ingest(config, ctx)] == ["docs/guide/start.md"]
    assert _fingerprint(config, ctx) == key
    next_run = StepContext(step_id="ingest", workflow=WORKFLOW, workflow_dir=corpus)
    assert "docs/later.md" in {d.id for d in ingest(config, next_run)}
    assert _fingerprint(config, next_run) != key


def test_a_pdf_that_inflates_past_the_limit_is_skipped(corpus: Path) -> None:
    (corpus / "docs" / "bomb.pdf").write_bytes(
        minimal_pdf("Boom", inflated_padding=80_000_000)  # ~80 kB on disk
    )
    documents, ctx = run(corpus, paths=["docs/*.pdf"])
    assert [d.id for d in documents] == ["docs/manual.pdf"]
    (row,) = ctx.metrics["artifacts"][0]["data"]
    assert row["file"] == "docs/bomb.pdf"
    assert "decompression limit" in row["reason"]


def test_a_jsonl_line_without_the_text_field_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"text": "ok"}\n{"body": "no text field"}\n')
    (tmp_path / "b.txt").write_text("keeps going")
    _, ctx = run(tmp_path, paths=["*.jsonl", "*.txt"])
    (reason,) = [r["reason"] for r in ctx.metrics["artifacts"][0]["data"]]
    assert "line 2: no field 'text' (fields: body)" in reason


def test_fingerprint_changes_when_a_file_changes(corpus: Path) -> None:
    from ragline.steps.ingest import _fingerprint

    ctx = StepContext(step_id="ingest", workflow=WORKFLOW, workflow_dir=corpus)
    config = IngestConfig(paths=["docs/**/*.md"])
    before = _fingerprint(config, ctx)
    assert _fingerprint(config, ctx) == before
    (corpus / "docs" / "guide" / "start.md").write_text("# Getting started\n\nChanged.\n")
    assert _fingerprint(config, ctx) != before


@pytest.mark.integration
def test_a_run_over_loops_and_paths_above_the_roots_ends_with_one_summary(
    tmp_path: Path, cli: Any, prefect: str
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# A\n\nAlpha is the first letter.\n")
    (docs / "l1").symlink_to(".")
    (docs / "l2").symlink_to(".")
    for n in range(25):
        (docs / f"blob{n:02}.bin").write_bytes(b"\x00")
    (tmp_path / "wf.yaml").write_text(
        "apiVersion: ragline/v1\n"
        "name: hostile-paths\n"
        "steps:\n"
        "  - id: ingest\n"
        "    uses: ingest\n"
        '    with: {paths: ["docs/**/*", "../../**/*.md"]}\n'
        "  - id: chunk\n"
        "    uses: chunk\n"
        '    with: {documents: "${{ steps.ingest.output }}", size: 64, overlap: 8}\n'
        "outputs:\n"
        '  chunks: "${{ steps.chunk.output }}"\n'
    )
    result = cli("run", "wf.yaml", "--json", cwd=tmp_path, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    (chunk,) = json.loads(result.stdout)["outputs"]["chunks"]
    assert chunk["text"] == "# A\n\nAlpha is the first letter."
    summaries = [line for line in result.stderr.splitlines() if " skipped: " in line]
    assert len(summaries) == 1, result.stderr[-3000:]
    assert "25 unsupported format (docs/blob00.bin, " in summaries[0]
    assert "2 symlink loop (docs/l1, docs/l2)" in summaries[0]  # once, though two globs met them
