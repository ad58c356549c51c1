"""`ingest` reads every supported format and skips bad files by name, keeping the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragline.errors import StepError
from ragline.spec.model import Workflow
from ragline.steps.context import StepContext
from ragline.steps.ingest import IngestConfig, ingest

WORKFLOW = Workflow.model_validate(
    {"apiVersion": "ragline/v1", "name": "t", "steps": [{"id": "ingest", "uses": "ingest"}]}
)


def run(folder: Path, **config: object) -> tuple[list, StepContext]:  # type: ignore[type-arg]
    ctx = StepContext(step_id="ingest", workflow=WORKFLOW, workflow_dir=folder)
    return ingest(IngestConfig.model_validate(config), ctx), ctx


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF with `text`, written byte by byte (offsets computed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
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
    with pytest.raises(StepError, match="over max_files"):
        run(corpus, paths=["docs/**/*"], max_files=2)


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
