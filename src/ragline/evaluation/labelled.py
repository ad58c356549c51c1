"""Labelled query sets in BEIR's layout: queries, judgements by document id, and their scores.

BEIR (github.com/beir-cellar/beir) is the layout labelled retrieval sets ship in:
`queries.jsonl` (`{"_id", "text"}` per line), `qrels/<split>.tsv` (`query-id`,
`corpus-id`, `score`, with a header row) and `corpus.jsonl`. Samples cut from a
BEIR set often keep a single `qrels.tsv` beside the queries; both are read here.
The corpus itself is what a workflow ingests; evaluation only needs its ids.

Judgements name documents, and a store holds chunks: a chunk counts for the
labelled document it was cut from (`labelled_document`), and a ranking of
chunks becomes a ranking of documents by each document's best chunk
(`rank_documents`), as BEIR scores passage-level retrieval of documents.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ragline.evaluation.metrics import retrieval_scores

QRELS_HEADER = ("query-id", "corpus-id", "score")


class LabelledSetError(ValueError):
    """A labelled set's files are missing or malformed; the message says which line.

    `field` names the setting at fault (`dataset`, `split`, `queries`, `qrels`).
    """

    def __init__(self, message: str, field: str = "dataset") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LabelledFiles:
    """Where a set's queries and judgements are."""

    queries: Path
    qrels: Path


@dataclass
class LabelledSet:
    """Queries (id -> text) and judgements (query id -> document id -> grade > 0)."""

    queries: dict[str, str]
    qrels: dict[str, dict[str, float]]
    name: str = ""
    unanswerable: list[str] = field(default_factory=list)

    @property
    def labelled(self) -> list[str]:
        """Ids of the queries that have a relevant document, in the file's order."""
        return [q for q in self.queries if self.qrels.get(q)]

    @property
    def documents(self) -> set[str]:
        """Every document id judged relevant to some query."""
        return {d for judged in self.qrels.values() for d in judged}


def splits(folder: Path) -> list[str]:
    """The qrels splits a BEIR folder offers (`qrels/<split>.tsv`), sorted."""
    return sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))


def locate(
    dataset: Path | None,
    split: str | None = None,
    queries: Path | None = None,
    qrels: Path | None = None,
) -> LabelledFiles:
    """The files to read; explicit `queries`/`qrels` win over the dataset folder.

    Without a split, a folder's single `qrels.tsv` is used, else `qrels/test.tsv`
    (BEIR's evaluation split), else its only split. Raises LabelledSetError naming
    what is missing and what is there.
    """
    if dataset is not None and not dataset.is_dir():
        raise LabelledSetError(f"dataset folder {dataset} does not exist")
    explicit_queries = queries
    if queries is None:
        if dataset is None:
            raise LabelledSetError("name a `dataset:` folder or a `queries:` file", "queries")
        queries = dataset / "queries.jsonl"
    if not queries.is_file():
        raise LabelledSetError(
            f"queries file {queries} does not exist (BEIR layout: queries.jsonl, one "
            '{"_id": ..., "text": ...} per line)',
            "dataset" if explicit_queries is None else "queries",
        )
    if qrels is None:
        if dataset is None:
            raise LabelledSetError("name a `dataset:` folder or a `qrels:` file", "qrels")
        qrels = _qrels_in(dataset, split)
    elif not qrels.is_file():
        raise LabelledSetError(f"qrels file {qrels} does not exist", "qrels")
    return LabelledFiles(queries, qrels)


def _qrels_in(dataset: Path, split: str | None) -> Path:
    offered = splits(dataset)
    if split is not None:
        path = dataset / "qrels" / f"{split}.tsv"
        if path.is_file():
            return path
        there = (
            f"splits here: {', '.join(offered)}"
            if offered
            else "this folder has no qrels/ folder"
            + (
                "; it has qrels.tsv: leave `split:` out"
                if (dataset / "qrels.tsv").is_file()
                else ""
            )
        )
        raise LabelledSetError(f"qrels file {path} does not exist ({there})", "split")
    if (dataset / "qrels.tsv").is_file():
        return dataset / "qrels.tsv"
    if "test" in offered or len(offered) == 1:
        return dataset / "qrels" / f"{'test' if 'test' in offered else offered[0]}.tsv"
    if offered:
        raise LabelledSetError(
            f"{dataset} has several qrels splits ({', '.join(offered)}); choose one with `split:`"
        )
    raise LabelledSetError(
        f"no judgements in {dataset}: expected qrels/<split>.tsv or qrels.tsv "
        "(query-id, corpus-id, score; tab-separated)"
    )


def load(files: LabelledFiles, name: str = "") -> LabelledSet:
    """Read the queries and the judgements; grades of 0 or less are not relevant."""
    queries: dict[str, str] = {}
    with files.queries.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                queries[str(record["_id"])] = str(record["text"])
            except (ValueError, KeyError, TypeError) as exc:
                raise LabelledSetError(
                    f"{files.queries}:{number}: not a query record ({exc}); each line is "
                    '{"_id": "...", "text": "..."}'
                ) from None
    qrels: dict[str, dict[str, float]] = {}
    with files.qrels.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or (number == 1 and tuple(c.strip() for c in row[:3]) == QRELS_HEADER):
                continue
            if len(row) < 3:
                raise LabelledSetError(
                    f"{files.qrels}:{number}: expected query-id, corpus-id, score "
                    f"(tab-separated), got {row!r}"
                )
            query_id, doc_id, grade = (c.strip() for c in row[:3])
            try:
                value = float(grade)
            except ValueError:
                raise LabelledSetError(
                    f"{files.qrels}:{number}: score '{grade}' is not a number"
                ) from None
            if value > 0:
                qrels.setdefault(query_id, {})[doc_id] = value
    unanswerable = sorted(q for q in qrels if q not in queries)
    return LabelledSet(queries, qrels, name or files.queries.parent.name, unanswerable)


def labelled_document(document_id: str, known: Mapping[str, object] | set[str]) -> str:
    """The labelled id a stored chunk's document stands for.

    A file is labelled by its path, or the end of it from any folder on
    (`guide/install.md` labels `/srv/site/docs/guide/install.md`, which is how
    `ingest` names a file outside the workflow's folder); a record of a
    json/jsonl/csv file is stored as `<file>#<record id>` and labelled by the
    record id alone (BEIR's `corpus-id`, the corpus' `_id`). An id that matches
    no judged document stays as it is.
    """
    if document_id in known:
        return document_id
    for at, char in enumerate(document_id):
        if char == "/" and document_id[at + 1 :] in known:
            return document_id[at + 1 :]
    _, hash_, record = document_id.rpartition("#")
    return record if hash_ and record in known else document_id


def rank_documents(
    document_ids: Iterable[str], known: Mapping[str, object] | set[str]
) -> list[str]:
    """Chunks' document ids, best first -> labelled document ids, best first, each once."""
    return list(dict.fromkeys(labelled_document(d, known) for d in document_ids))


def mean_scores(
    rankings: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, float]], k: int
) -> dict[str, float]:
    """Mean nDCG@k, recall@k and MRR@k over the queries of `rankings` (all judged)."""
    totals: dict[str, float] = {}
    for query_id, ranked in rankings.items():
        for name, value in retrieval_scores(ranked, qrels[query_id], k).items():
            totals[name] = totals.get(name, 0.0) + value
    count = len(rankings)
    return {name: total / count for name, total in totals.items()} if count else {}
