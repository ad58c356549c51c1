"""Citations of json/jsonl/csv records name the record; every reader of citations accepts them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from ragline.evaluation.metrics import groundedness
from ragline.prompts.contexts import as_contexts, cite
from ragline.sdk.context import StepContext
from ragline.steps.chunk import ChunkConfig, chunk
from ragline.steps.ingest import IngestConfig, ingest
from ragline.testing.fixtures import workflow_model

DOCS_QA = Path(__file__).resolve().parents[2] / "workflows" / "docs_qa.yaml"


def _sources_pattern() -> re.Pattern[str]:
    steps = yaml.safe_load(DOCS_QA.read_text())["steps"]
    [sources] = [s for s in steps if s["id"] == "sources"]
    return re.compile(sources["with"]["pattern"])


def _faq_chunks(tmp_path: Path, **ingest_options: str) -> list[dict[str, object]]:
    records = [
        {"id": "q-17", "text": "Prefect retries a step that failed with a rate limit."},
        {"id": "q 18]", "text": "LanceDB keeps the vectors in a folder beside the workflow."},
    ]
    (tmp_path / "faq.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    ctx = StepContext(step_id="ingest", workflow=workflow_model(), workflow_dir=tmp_path)
    documents = ingest(IngestConfig(paths=["faq.jsonl"], **ingest_options), ctx)
    chunks = chunk(ChunkConfig(documents=documents, size=100, overlap=10), ctx)
    return as_contexts(chunks)


def test_two_records_of_one_file_cite_by_their_record_keys(tmp_path: Path) -> None:
    contexts = _faq_chunks(tmp_path, id_field="id")
    assert {c["document_id"]: c["id"] for c in contexts} == {
        "faq.jsonl#q-17": "faq.jsonl:q-17#0",
        "faq.jsonl#q 18]": "faq.jsonl:q_18#0",  # no space or bracket inside a citation
    }
    again = as_contexts(list(reversed(contexts)))
    assert {c["document_id"]: c["id"] for c in again} == {
        c["document_id"]: c["id"] for c in contexts
    }


def test_records_without_an_id_field_cite_by_their_line(tmp_path: Path) -> None:
    contexts = _faq_chunks(tmp_path)
    assert sorted(c["id"] for c in contexts) == ["faq.jsonl:1#0", "faq.jsonl:2#0"]


def test_the_sources_pattern_and_groundedness_read_record_citations(tmp_path: Path) -> None:
    contexts = _faq_chunks(tmp_path, id_field="id")
    answer = (
        "Prefect retries a step that failed with a rate limit [faq.jsonl:q-17#0]. "
        "LanceDB keeps the vectors in a folder [faq.jsonl:q_18#0]."
    )
    found = [m.groupdict() for m in _sources_pattern().finditer(answer)]
    assert found == [
        {"source": "faq.jsonl", "record": "q-17", "chunk": "0"},
        {"source": "faq.jsonl", "record": "q_18", "chunk": "0"},
    ]
    assert [m.group(0)[1:-1] for m in _sources_pattern().finditer(cite(contexts))] == [
        c["id"] for c in contexts
    ]
    # A citation is not a claim: only the two sentences are checked, and both are supported.
    assert groundedness(answer, [str(c["text"]) for c in contexts]) == (1.0, [])
    plain = [m.groupdict() for m in _sources_pattern().finditer("Yes [guide.md#2].")]
    assert plain == [{"source": "guide.md", "record": None, "chunk": "2"}]
