"""What is embedded and indexed: titles of their own, and texts found by a path in JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragline.documents import Chunk
from ragline.sdk.context import StepContext
from ragline.spec.model import Workflow
from ragline.steps.ingest import IngestConfig, ingest
from ragline.store.fields import own_title, searchable_text

WORKFLOW = Workflow.model_validate(
    {"apiVersion": "ragline/v1", "name": "t", "steps": [{"id": "ingest", "uses": "ingest"}]}
)

SQUAD = {
    "version": "1.1",
    "data": [
        {
            "title": "Normans",
            "paragraphs": [
                {"context": "The Normans gave their name to Normandy.", "qas": []},
                {"context": "Rollo was their first ruler.", "qas": []},
            ],
        },
        {
            "title": "Oxygen",
            "paragraphs": [{"context": "Oxygen is element 8.", "qas": []}],
        },
    ],
}


def ingest_folder(folder: Path, **config: object) -> list:  # type: ignore[type-arg]
    ctx = StepContext(step_id="ingest", workflow=WORKFLOW, workflow_dir=folder)
    return ingest(IngestConfig.model_validate({"paths": ["*"], **config}), ctx)


def test_a_path_reaches_the_texts_of_nested_squad_json(tmp_path: Path) -> None:
    (tmp_path / "squad.json").write_text(json.dumps(SQUAD))
    documents = ingest_folder(tmp_path, text_field="data[].paragraphs[].context")
    assert [(d.id, d.title, d.text) for d in documents] == [
        ("squad.json#0.0.0", "Normans", "The Normans gave their name to Normandy."),
        ("squad.json#0.0.1", "Normans", "Rollo was their first ruler."),
        ("squad.json#0.1.0", "Oxygen", "Oxygen is element 8."),
    ]


def test_a_dotted_path_reaches_a_field_of_a_nested_object(tmp_path: Path) -> None:
    lines = [{"id": "a", "fields": {"body": "Nested body", "title": "A title"}}]
    (tmp_path / "items.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    (document,) = ingest_folder(tmp_path, text_field="fields.body", id_field="id")
    assert (document.text, document.title) == ("Nested body", "A title")


@pytest.mark.parametrize(
    ("text_field", "message"),
    [
        (
            "data[].sections[].context",
            "item 0.data[0]: no field 'sections' (fields: paragraphs, title)",
        ),
        (
            "version[].text",
            "item 0.version: expected a list (the path says 'version[]'), found str",
        ),
        (
            "data[].paragraphs[].body",
            "item 0.data[0].paragraphs[0]: no field 'body' (fields: context, qas)",
        ),
    ],
)
def test_a_path_that_does_not_fit_says_where_it_stopped(
    tmp_path: Path, text_field: str, message: str
) -> None:
    (tmp_path / "squad.json").write_text(json.dumps(SQUAD))
    (tmp_path / "keep.txt").write_text("still ingested")
    ctx = StepContext(step_id="ingest", workflow=WORKFLOW, workflow_dir=tmp_path)
    documents = ingest(IngestConfig(paths=["*"], text_field=text_field), ctx)
    assert [d.id for d in documents] == ["keep.txt"]
    (reason,) = [r["reason"] for r in ctx.metrics["artifacts"][0]["data"]]
    assert message in reason


def test_records_with_a_title_embed_it_and_records_without_one_do_not(tmp_path: Path) -> None:
    (tmp_path / "corpus.jsonl").write_text(
        json.dumps({"_id": "1", "title": "Aspirin and stroke", "text": "A trial of 400 adults."})
        + "\n"
        + json.dumps({"_id": "2", "text": "No title here."})
        + "\n"
    )
    (tmp_path / "notes.txt").write_text("Plain notes.")
    (tmp_path / "guide.md").write_text("# Install\n\nRun make.\n")
    documents = {d.id: d for d in ingest_folder(tmp_path, id_field="_id")}
    chunks = {
        i: Chunk(
            id=i, document_id=i, text=d.text, source=d.source, title=d.title, metadata=d.metadata
        )
        for i, d in documents.items()
    }
    assert (
        searchable_text(chunks["corpus.jsonl#1"]) == "Aspirin and stroke\n\nA trial of 400 adults."
    )
    assert searchable_text(chunks["corpus.jsonl#1"], title=False) == "A trial of 400 adults."
    # made-up titles ("corpus #2", the file name) say nothing about the text
    assert documents["corpus.jsonl#2"].title == "corpus #2"
    assert own_title(chunks["corpus.jsonl#2"]) is None
    assert searchable_text(chunks["corpus.jsonl#2"]) == "No title here."
    assert own_title(chunks["notes.txt"]) is None
    # a markdown title is its first heading, already at the start of the text
    assert own_title(chunks["guide.md"]) == "Install"
    assert searchable_text(chunks["guide.md"]) == documents["guide.md"].text


def test_embed_puts_the_records_own_title_before_each_chunk(tmp_path: Path) -> None:
    import numpy as np

    from ragline.llm.providers import minilm
    from ragline.sdk.context import RunServices
    from ragline.steps.embed import EmbedConfig, embed

    workflow = Workflow.model_validate(
        {
            "apiVersion": "ragline/v1",
            "name": "t",
            "models": {"embedder": [{"model": "local/all-MiniLM-L6-v2"}]},
            "steps": [{"id": "embed", "uses": "embed", "with": {"model": "embedder"}}],
        }
    )
    chunk = Chunk(
        id="c1",
        document_id="corpus.jsonl#1",
        text="A trial of 400 adults.",
        source="corpus.jsonl",
        title="Aspirin and stroke",
        metadata={"format": "jsonl", "title": "Aspirin and stroke"},
    )
    ctx = StepContext("embed", workflow, tmp_path, services=RunServices())
    titled, plain = (
        embed(EmbedConfig(chunks=[chunk], model="embedder", include_title=flag), ctx)[0]
        for flag in (True, False)
    )
    expected = minilm.embed(["Aspirin and stroke\n\nA trial of 400 adults.", chunk.text])
    assert np.allclose(titled.vector, expected[0], atol=1e-5)
    assert np.allclose(plain.vector, expected[1], atol=1e-5)
    assert titled.text == plain.text == chunk.text  # what is returned stays the chunk's text
