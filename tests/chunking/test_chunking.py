"""`chunk` cuts documents to the embedding model's size, with stable content-derived ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ragline.chunking import split_recursive, token_counter
from ragline.documents import Chunk, Document
from ragline.sdk.context import StepContext
from ragline.spec.model import Workflow
from ragline.steps.chunk import ChunkConfig, chunk

WORKFLOW = Workflow.model_validate(
    {"apiVersion": "ragline/v1", "name": "t", "steps": [{"id": "chunk", "uses": "chunk"}]}
)
SENTENCES = " ".join(f"Sentence number {i} talks about retrieval and ranking." for i in range(120))
GUIDE = """# Guide

Intro paragraph.

## Install

Run make setup. It creates a virtual environment.

## Plugins

### Entry points

Register the step under ragline.steps.
"""


def split(*documents: Document, **config: object) -> list[Chunk]:
    ctx = StepContext(step_id="chunk", workflow=WORKFLOW, workflow_dir=Path("."))
    return chunk(ChunkConfig.model_validate({"documents": list(documents), **config}), ctx)


def doc(text: str, id: str = "a.md") -> Document:
    return Document(id=id, text=text, source=id, title="A", metadata={"format": "markdown"})


@pytest.mark.parametrize("strategy", ["tokens", "recursive"])
def test_chunks_never_exceed_size_in_model_tokens(strategy: str) -> None:
    chunks = split(doc(SENTENCES), strategy=strategy, size=64, overlap=8)
    count = token_counter()
    assert len(chunks) > 5
    assert max(count(c.text) for c in chunks) <= 64
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_token_windows_overlap() -> None:
    first, second, *_ = split(doc(SENTENCES), strategy="tokens", size=50, overlap=10)
    count = token_counter()
    shared = first.text[-20:]
    assert shared in second.text and count(first.text) == 50


def test_rechunking_gives_the_same_ids_and_an_edit_changes_only_its_chunk() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "word " * 40 for i in range(6))
    before = split(doc(text), size=60, overlap=0)
    assert [c.id for c in split(doc(text), size=60, overlap=0)] == [c.id for c in before]
    edited = text.replace("Paragraph 3.", "Paragraph three, edited.")
    after = split(doc(edited), size=60, overlap=0)
    changed = {c.id for c in after} ^ {c.id for c in before}
    assert len(changed) == 2  # the old and the new version of one chunk
    assert split(doc(text, id="b.md"), size=60, overlap=0)[0].id != before[0].id


def test_identical_texts_in_one_document_get_distinct_ids() -> None:
    line = "The same line, over and over."  # 7 tokens: one chunk each at size 8
    chunks = split(doc(f"{line}\n\n{line}\n\n{line}"), size=8, overlap=0)
    assert len(chunks) == 3 and len({c.id for c in chunks}) == 3


def test_markdown_keeps_the_heading_path() -> None:
    chunks = split(doc(GUIDE), strategy="markdown", size=100, overlap=0)
    paths = {c.text.splitlines()[0]: c.metadata.get("headings") for c in chunks}
    assert paths["## Install"] == ["Guide", "Install"]
    assert paths["### Entry points"] == ["Guide", "Plugins", "Entry points"]
    assert all(c.metadata["format"] == "markdown" and c.source == "a.md" for c in chunks)


def test_characters_as_the_unit() -> None:
    chunks = split(doc(SENTENCES), size=200, overlap=0, unit="chars")
    assert max(len(c.text) for c in chunks) <= 200


def test_overlap_must_be_smaller_than_size() -> None:
    with pytest.raises(ValidationError, match=r"overlap \(50\) must be smaller than size \(50\)"):
        split(doc("x"), size=50, overlap=50)


NOTES = """# Setup

Install the package, then check the version.

```python
import ragline
print(ragline.__version__)
```

## Next

Read the guide.
"""


def test_separators_survive_in_every_chunk() -> None:
    (whole,) = split(doc(NOTES), size=400, overlap=0)
    assert whole.text == NOTES.strip()  # heading, paragraph and fence on their own lines
    chunks = split(doc(NOTES), size=20, overlap=0)
    assert [c.text for c in chunks] == [
        "# Setup\n\nInstall the package, then check the version.",
        "```python\nimport ragline\nprint(ragline.__version__)",
        "```",
        "## Next\n\nRead the guide.",
    ]


def test_markdown_sections_keep_their_lines() -> None:
    chunks = split(doc(NOTES), strategy="markdown", size=400, overlap=0)
    assert [c.metadata["headings"] for c in chunks] == [["Setup"], ["Setup", "Next"]]
    assert chunks[0].text == NOTES[: NOTES.index("## Next")].strip()


@pytest.mark.parametrize("strategy", ["tokens", "recursive", "markdown"])
def test_a_long_line_without_whitespace_is_cut_within_size(strategy: str) -> None:
    # MiniLM reads a word over 100 characters as one [UNK] token: 1 MB "fits" in one
    line = "abcdefghij" * 100_000
    chunks = split(doc(line), strategy=strategy, size=200, overlap=0)
    count = token_counter()
    assert len(chunks) >= 1_000_000 // 2_400
    assert max(len(c.text) for c in chunks) <= 2_400  # size x MAX_CHARS_PER_TOKEN
    assert max(count(c.text) for c in chunks) <= 200
    assert "".join(c.text for c in chunks) == line


def test_the_tokenizer_never_sees_more_than_one_chunk_of_text_at_once() -> None:
    text = "\n\n".join(f"Paragraph {i}. " + "lorem ipsum dolor sit amet " * 20 for i in range(600))
    count = token_counter()
    longest = 0

    def counting(piece: str) -> int:
        nonlocal longest
        longest = max(longest, len(piece))
        return count(piece)

    chunks = split_recursive(text, 100, 10, counting)
    assert len(chunks) > 600 and max(count(c) for c in chunks) <= 100
    assert longest <= 100 * 12  # never the whole 330 kB text


def test_overlapping_chunks_repeat_the_end_of_the_one_before() -> None:
    first, second, *_ = split(doc(SENTENCES), size=64, overlap=16)
    count = token_counter()
    shared = second.text[: second.text.index(".") + 1]  # the chunk starts with a repeat
    assert first.text.endswith(shared) or shared in first.text
    assert count(first.text) <= 64 and count(second.text) <= 64
