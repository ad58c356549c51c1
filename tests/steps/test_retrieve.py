"""`retrieve`: bad configs `ragline validate` refuses, and a search of a real LanceDB table
with the query embedded by the real local MiniLM.

Covered elsewhere, not repeated here: each mode and fusion, filters, min_score, an empty
store (tests/store/test_store.py, tests/store/test_fulltext_fusion.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline.sdk import RunServices
from ragline.steps.index import IndexConfig, index
from ragline.steps.retrieve import RetrieveConfig, retrieve

from .bad_configs import assert_refused, bad
from .local_rag import CORPUS, context, embedded

ASK = "query: where are the vectors kept\nstore: docs"

BAD = [
    bad("query missing", "store: docs", (1, 1), "missing required key 'query'", "'retrieve'"),
    bad("an empty query", "query: ''\nstore: docs", (1, 8), "needs at least 1 character"),
    bad("a store not defined", "query: q\nstore: doc", (2, 8), "unknown store 'doc'", "'docs'?"),
    bad(
        "a query model alias not defined",
        f"{ASK}\nmodel: embeder",
        (3, 8),
        "unknown model alias 'embeder'",
        "did you mean 'embedder'?",
    ),
    bad("k zero", f"{ASK}\nk: 0", (3, 4), "0 is out of range", "at least 1"),
    bad("k over the limit", f"{ASK}\nk: 5000", (3, 4), "5000 is out of range", "at most 1000"),
    bad(
        "an unknown mode",
        f"{ASK}\nmode: semantic",
        (3, 7),
        "'semantic' is not one of vector, fulltext, hybrid",
    ),
    bad(
        "a fusion misspelt",
        f"{ASK}\nfusion: rff",
        (3, 9),
        "'rff' is not one of convex, dbsf, rrf",
        "did you mean 'rrf'?",
    ),
    bad("alpha over 1", f"{ASK}\nalpha: 1.5", (3, 8), "1.5 is out of range", "at most 1.0"),
    bad("where as a list", f"{ASK}\nwhere: [lang]", (3, 8), "expected a mapping", "found a list"),
    bad(
        "a filter on a field chunks do not have",
        f"{ASK}\nwhere: {{colour: red}}",
        (3, 17),
        "cannot filter on 'colour'",
        "or metadata.<key> for a key of the chunk metadata",
    ),
    bad(
        "a filter operator that does not exist",
        f"{ASK}\nwhere: {{source: {{like: faq}}}}",
        (3, 17),
        "unknown operator 'like'",
        "(operators: in, not_in, eq, ne, lt, lte, gt, gte)",
    ),
    bad("min_score not a number", f"{ASK}\nmin_score: high", (3, 12), "expected number"),
]


@pytest.mark.parametrize(("body", "at", "words"), BAD)
def test_validate_refuses_a_bad_config_where_it_is_written(
    tmp_path: Path, body: str, at: tuple[int, int], words: tuple[str, ...]
) -> None:
    assert_refused(tmp_path, "retrieve", body, at, words)


@pytest.fixture(scope="module")
def services() -> RunServices:
    return RunServices()


def test_a_question_finds_the_chunk_that_answers_it_ranked_first(
    tmp_path: Path, services: RunServices
) -> None:
    chunks = embedded(tmp_path, services, CORPUS)
    index(IndexConfig(chunks=chunks, store="docs"), context(tmp_path, services, "index"))
    ctx = context(tmp_path, services, "retrieve")
    config = RetrieveConfig(query="which folder holds the vector data?", store="docs", k=2)

    found = retrieve(config, ctx)  # hybrid: BM25 and the query's MiniLM vector, fused

    assert [c.source for c in found][:1] == ["stores.md"]
    assert [c.rank for c in found] == [1, 2]
    assert found[0].score >= found[1].score
    assert found[0].text == CORPUS["stores.md"] and found[0].title == "stores.md"
    assert ctx.metrics["retrieved"] == 2
    only = RetrieveConfig(
        query="retries", store="docs", mode="fulltext", where={"source": "retries.md"}
    )
    assert [c.source for c in retrieve(only, ctx)] == ["retries.md"]
