"""evaluate-retrieval: a labelled BEIR set scored in one run, and every bad config refused.

The tiny set in tests/data/beir-tiny has eight documents and five judged
queries; four share words with their document, one ("feline companions" ->
the cat article) shares none, so full-text search misses it and dense search
finds it. The real runs ingest its corpus.jsonl with the local MiniLM into
LanceDB in a tmp folder, inside a real Prefect flow.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from ragline.compiler.flow import compile_workflow
from ragline.errors import ErrorCategory, StepError
from ragline.evaluation import metrics as m
from ragline.evaluation.labelled import (
    LabelledSetError,
    labelled_document,
    load,
    locate,
    mean_scores,
    rank_documents,
)
from ragline.validation.workflow import load_workflow, validate_file

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "data" / "beir-tiny"

HEAD = f"""\
apiVersion: ragline/v1
name: tiny-eval
models:
  embedder: [{{model: local/all-MiniLM-L6-v2}}]
stores:
  corpus: {{uri: lancedb, table: corpus}}
steps:
  - id: ingest
    uses: ingest
    with: {{paths: ["{TINY}/corpus.jsonl"], roots: ["{TINY}"], id_field: _id}}
  - id: chunk
    uses: chunk
    with: {{documents: "${{{{ steps.ingest.output }}}}"}}
  - id: embed
    uses: embed
    with: {{chunks: "${{{{ steps.chunk.output }}}}", model: embedder}}
  - id: index
    uses: index
    with: {{chunks: "${{{{ steps.embed.output }}}}", store: corpus}}
  - id: score
    uses: evaluate-retrieval
    needs: [index]
    with:
"""
HEAD_LINES = HEAD.count("\n")


def _workflow(tmp_path: Path, body: str, outputs: str = "") -> Path:
    path = tmp_path / "wf.yaml"
    indented = "".join(f"      {line}\n" for line in body.strip("\n").splitlines())
    path.write_text(HEAD + indented + outputs)
    return path


# (with: body, line within the body (1-based), JSON path the message is at, what it says)
BAD: list[tuple[str, int, str, str]] = [
    (
        "dataset: no-such-folder\nretrieve: {store: corpus}",
        1,
        "dataset",
        "dataset folder",
    ),
    (
        f"dataset: {TINY}\nsplit: train\nretrieve: {{store: corpus}}",
        2,
        "split",
        "(splits here: dev, test)",
    ),
    (
        f"dataset: {TINY}\nqrels: missing.tsv\nretrieve: {{store: corpus}}",
        2,
        "qrels",
        "qrels file",
    ),
    (
        f"queries: {TINY}/queries.jsonl\nretrieve: {{store: corpus}}",
        1,
        "queries",
        "or a `qrels:` file",
    ),
    ("retrieve: {store: corpus}", 0, "with", "name the labelled set"),
    (
        f"dataset: {TINY}\nretrieve: {{store: corpus}}\nmodes: [vector, bm25]",
        3,
        "modes[1]",
        "bm25",
    ),
    (f"dataset: {TINY}\nretrieve: {{store: corpus, mode: semantic}}", 2, "mode", "semantic"),
    (f"dataset: {TINY}\nretrieve: {{store: corpus}}\nk: 0", 3, "k", "0"),
    (
        f"dataset: {TINY}\nretrieve: {{store: corpus, k: 5}}",
        2,
        "retrieve.k",
        "retrieve.k (5) is smaller than k (10)",
    ),
    (
        f"dataset: {TINY}\nretrieve: {{store: corpus}}\ngates: {{ndcg@5: 0.5}}",
        3,
        "gates.ndcg@5",
        "scores at k = 10; gate on ndcg@10, or set `k: 5`",
    ),
    (
        f"dataset: {TINY}\nretrieve: {{store: corpus}}\ngates: {{ndgc@10: 0.5}}",
        3,
        "gates.ndgc@10",
        "did you mean 'ndcg@10'?",
    ),
    (
        f"dataset: {TINY}\nretrieve: {{store: corpus}}\ngates: {{fulltext.ndcg@10: 0.5}}",
        3,
        "gates['fulltext.ndcg@10']",
        "gates mode 'fulltext', which is not scored (modes: hybrid)",
    ),
    (f"dataset: {TINY}\nretrieve: {{store: corpse}}", 2, "retrieve.store", "did you mean 'corpus'"),
    (
        f"dataset: {TINY}\nretrieve: {{store: corpus}}\nmodes: [vector]\ngates: {{mrr@10: 0.5}}",
        4,
        "gates.mrr@10",
        "gates retrieve.mode (hybrid), which is not scored (modes: vector)",
    ),
    (
        f"dataset: {TINY}\nretrieve: {{store: corpus, model: embeder}}",
        2,
        "retrieve.model",
        "unknown model alias 'embeder'",
    ),
    (
        f"dataset: {TINY}\nretrieve: {{store: corpus, query: hello}}",
        2,
        "retrieve",
        "'query' is not a field of 'retrieve'",
    ),
]


@pytest.mark.parametrize(("body", "line", "path", "says"), BAD, ids=[b[3][:30] for b in BAD])
def test_validate_refuses_a_bad_config_at_its_line(
    tmp_path: Path, body: str, line: int, path: str, says: str
) -> None:
    wf = _workflow(tmp_path, body)
    found = validate_file(wf)
    assert found, f"no problem reported for:\n{body}"
    hit = next((d for d in found if says in d.message), None)
    assert hit is not None, [d.message for d in found]
    assert hit.file == str(wf) and hit.col >= 1
    if line:
        assert hit.line == HEAD_LINES + line, hit.render()
    assert hit.path.endswith(path), hit.path


def test_a_good_config_validates(tmp_path: Path) -> None:
    body = (
        f"dataset: {TINY}\nsplit: dev\nretrieve: {{store: corpus, mode: hybrid, fusion: rrf}}\n"
        "modes: [fulltext, hybrid]\ngates: {ndcg@10: 0.5, fulltext.mrr@10: 0.1}"
    )
    assert validate_file(_workflow(tmp_path, body)) == []


def test_the_shipped_example_validates() -> None:
    assert validate_file(ROOT / "workflows" / "evaluate_docs.yaml") == []


# -- the labelled set and its scores (no store) -----------------------------------------


def test_beir_files_are_found_by_split_or_the_single_qrels_file(tmp_path: Path) -> None:
    assert locate(TINY).qrels == TINY / "qrels" / "test.tsv"
    assert locate(TINY, "dev").qrels == TINY / "qrels" / "dev.tsv"
    (tmp_path / "queries.jsonl").write_text('{"_id": "1", "text": "x"}\n')
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\td\t1\n")
    assert locate(tmp_path).qrels == tmp_path / "qrels.tsv"
    (tmp_path / "qrels.tsv").unlink()
    with pytest.raises(LabelledSetError, match="no judgements"):
        locate(tmp_path)


def test_a_malformed_line_is_named_by_file_and_number(tmp_path: Path) -> None:
    (tmp_path / "queries.jsonl").write_text('{"_id": "1", "text": "x"}\nnot json\n')
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\td\t1\n")
    with pytest.raises(LabelledSetError, match=r"queries.jsonl:2: not a query record"):
        load(locate(tmp_path))
    (tmp_path / "queries.jsonl").write_text('{"_id": "1", "text": "x"}\n')
    (tmp_path / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\td\thigh\n")
    with pytest.raises(LabelledSetError, match=r"qrels.tsv:2: score 'high' is not a number"):
        load(locate(tmp_path))


def test_judgements_keep_grades_and_drop_zero_and_unknown_queries() -> None:
    labelled = load(locate(TINY))
    assert labelled.labelled == ["q1", "q2", "q3", "q4", "q5"]  # q6 has no judgement
    assert labelled.qrels["q2"] == {"lance": 2.0}
    assert labelled.qrels["q5"] == {"cats": 1.0}  # grade 0 is not relevant
    assert labelled.unanswerable == ["q9"]


def test_chunks_count_for_their_labelled_document_by_best_chunk() -> None:
    known = {"4983", "guide/install.md", "a#b"}
    assert labelled_document("corpus.jsonl#4983", known) == "4983"
    assert labelled_document("guide/install.md", known) == "guide/install.md"
    assert labelled_document("/srv/docs/guide/install.md", known) == "guide/install.md"
    assert labelled_document("/srv/docs/install.md", known) == "/srv/docs/install.md"
    assert labelled_document("a#b", known) == "a#b"  # an exact id wins over its record part
    ranked = rank_documents(["c.jsonl#7", "c.jsonl#4983", "c.jsonl#7", "c.jsonl#1"], known)
    assert ranked == ["c.jsonl#7", "4983", "c.jsonl#1"]


def test_graded_ndcg_recall_and_mrr_at_k() -> None:
    assert m.ndcg_at_k(["b", "a"], {"a": 2.0, "b": 1.0}, 10) == pytest.approx(
        (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    )
    assert m.ndcg_at_k(["a", "x"], {"a"}, 10) == 1.0  # a set is binary, as before
    assert m.mrr(["x", "y", "a"], {"a"}, 2) == 0.0 and m.mrr(["x", "y", "a"], {"a"}) == 1 / 3
    scores = mean_scores({"1": ["a"], "2": ["x"]}, {"1": {"a": 1}, "2": {"b": 1}}, 10)
    assert scores == {"ndcg@10": 0.5, "recall@10": 0.5, "mrr@10": 0.5}


# -- real runs: Prefect flow, LanceDB in tmp, local MiniLM --------------------------------

RUN = f"""\
dataset: {TINY}
retrieve: {{store: corpus, mode: hybrid}}
modes: [fulltext, vector, hybrid]
gates: {{ndcg@10: 0.9}}
"""
OUTPUTS = 'outputs:\n  scores: "${{ steps.score.output }}"\n'


def _artifacts(api: str, flow_run_id: str) -> dict[str, dict[str, Any]]:
    response = httpx.post(
        f"{api}/artifacts/filter",
        json={"limit": 100, "offset": 0, "flow_runs": {"id": {"any_": [flow_run_id]}}},
    )
    response.raise_for_status()
    return {a["key"]: a for a in response.json()}


@pytest.mark.slow
def test_one_run_scores_every_mode_publishes_artifacts_and_fails_a_gate(
    tmp_path: Path, prefect: str
) -> None:
    flow = compile_workflow(load_workflow(_workflow(tmp_path, RUN, OUTPUTS)))
    state = flow(return_state=True)
    scores = state.result()["scores"].model_dump()
    modes = scores["modes"]
    assert scores["queries"] == 5 and scores["mode"] == "hybrid" and scores["k"] == 10
    # "feline companions" shares no word with the cat article: BM25 misses it, MiniLM does not
    assert modes["fulltext"]["metrics"] == {"ndcg@10": 0.8, "recall@10": 0.8, "mrr@10": 0.8}
    assert modes["vector"]["metrics"]["recall@10"] == 1.0
    assert scores["metrics"] == modes["hybrid"]["metrics"]
    assert modes["hybrid"]["metrics"]["ndcg@10"] >= 0.9
    assert all(mode["queries_per_second"] > 0 for mode in modes.values())
    assert scores["failed_gates"] == [] and scores["rankings"] == {}

    artifacts = _artifacts(prefect, str(state.state_details.flow_run_id))
    table = artifacts["score-scores"]
    assert table["type"] == "table"
    assert "fulltext" in table["data"] and "ndcg@10" in table["data"]
    report = artifacts["score-report"]
    assert report["type"] == "markdown"
    assert "5 labelled queries" in report["data"] and "Gates: all passed" in report["data"]

    # the same store, a gate the full-text mode cannot meet: the run fails and says why
    gated = RUN.replace("gates: {ndcg@10: 0.9}", "gates: {fulltext.recall@10: 0.9}")
    failing = compile_workflow(load_workflow(_workflow(tmp_path, gated, OUTPUTS)))
    with pytest.raises(Exception, match=r"fulltext recall@10 = 0\.800 < 0\.9"):
        failing()


@pytest.mark.slow
def test_a_store_without_the_judged_documents_is_an_input_error(tmp_path: Path) -> None:
    """The corpus indexed without `id_field`: ids are record positions, not corpus-ids."""
    from ragline.sdk.context import RunServices, StepContext
    from ragline.steps.chunk import ChunkConfig, chunk
    from ragline.steps.embed import EmbedConfig, embed
    from ragline.steps.evaluate_retrieval import EvaluateRetrievalConfig, evaluate_retrieval
    from ragline.steps.index import IndexConfig, index
    from ragline.steps.ingest import IngestConfig, ingest

    workflow = load_workflow(_workflow(tmp_path, RUN)).workflow
    services = RunServices()

    def ctx(step_id: str) -> StepContext:
        return StepContext(step_id, workflow, tmp_path, services=services)

    documents = ingest(IngestConfig(paths=[f"{TINY}/corpus.jsonl"], roots=[str(TINY)]), ctx("i"))
    chunks = chunk(ChunkConfig(documents=documents), ctx("c"))
    index(IndexConfig(chunks=embed(EmbedConfig(chunks=chunks, model="embedder"), ctx("e")),
                      store="corpus"), ctx("x"))  # fmt: skip
    config = EvaluateRetrievalConfig.model_validate(
        {"dataset": str(TINY), "retrieve": {"store": "corpus", "mode": "fulltext"}}
    )
    with pytest.raises(StepError, match="none of the 5 documents judged relevant") as err:
        evaluate_retrieval(config, ctx("score"))
    assert err.value.category == ErrorCategory.INPUT
    assert "id_field: _id" in (err.value.failure.hint or "")


def _context(tmp_path: Path) -> Any:
    from ragline.sdk.context import StepContext

    return StepContext("score", load_workflow(_workflow(tmp_path, RUN)).workflow, tmp_path)


def _config(**fields: Any) -> Any:
    from ragline.steps.evaluate_retrieval import EvaluateRetrievalConfig

    return EvaluateRetrievalConfig.model_validate({"retrieve": {"store": "corpus"}, **fields})


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"dataset": "gone"}, "dataset folder"),  # e.g. from an input, known at run time only
        ({"queries": f"{TINY}/queries.jsonl"}, "name the labelled set"),
        ({"dataset": str(TINY), "k": 10, "gates": {"ndcg@5": 0.5}}, "scores at k = 10"),
    ],
)
def test_what_validate_cannot_see_fails_the_step_as_input(
    tmp_path: Path, fields: dict[str, Any], says: str
) -> None:
    from ragline.steps.evaluate_retrieval import evaluate_retrieval

    with pytest.raises(StepError, match=says) as err:
        evaluate_retrieval(_config(**fields), _context(tmp_path))
    assert err.value.category == ErrorCategory.INPUT


def test_a_set_without_any_relevant_judgement_is_an_input_error(tmp_path: Path) -> None:
    from ragline.steps.evaluate_retrieval import evaluate_retrieval

    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "queries.jsonl").write_text('{"_id": "1", "text": "x"}\n')
    (tmp_path / "set" / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\n1\td\t0\n")
    with pytest.raises(StepError, match="no query of set has a relevant document"):
        evaluate_retrieval(_config(dataset="set"), _context(tmp_path))
