"""`evaluate-retrieval`: score a store's retrieval over a labelled query set in one step.

`evaluate` scores one answer and its contexts, by chunk id; a labelled set
(BEIR's layout: queries, and judgements by document id) needs every query
searched the same way, then each ranking scored. This step does that inside one
run: it embeds the queries in batches (one model call per `batch_size`
queries, never one call or one Prefect task per query), searches each query
through the `retrieve` step's own function with the options given under
`retrieve:` (the keys of a `retrieve` step, without `query`), once per mode
compared, and ranks documents by their best chunk. nDCG@k, recall@k and MRR@k
per mode are the step's output, a table and a markdown artifact on the flow
run, and a row of `.ragline/scores.sqlite` (for `ragline eval compare`); gates
fail the run as `evaluate`'s do.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from ragline.documents import RetrievedChunk
from ragline.errors import ErrorCategory, StepError
from ragline.sdk.context import StepContext
from ragline.sdk.step import StepConfig, step
from ragline.steps.retrieve import RetrieveConfig

Mode = Literal["vector", "fulltext", "hybrid"]
MODES: tuple[str, ...] = ("vector", "fulltext", "hybrid")
METRICS = ("ndcg", "recall", "mrr")
_GATE = re.compile(r"^(?:(?P<mode>[a-z]+)\.)?(?P<metric>[a-z]+)@(?P<k>[0-9]+)$")
# Several chunks of one document may be retrieved: each query fetches this many
# times k chunks (at least MIN_DEPTH) so that k distinct documents remain.
DEPTH_FACTOR = 3
MIN_DEPTH = 30
_NAME_THE_SET = "name the labelled set: `dataset:` (a BEIR folder) or `queries:` and `qrels:` files"


class RetrieveSettings(RetrieveConfig):
    """The options every query is searched with: a `retrieve` step's keys but `query`."""

    query: SkipJsonSchema[str] = Field("", exclude=True)
    k: int | None = Field(  # type: ignore[assignment]
        None,
        ge=1,
        le=1000,
        description="Chunks retrieved per query, several of which may belong to one "
        f"document; default: {DEPTH_FACTOR} x the step's k, at least {MIN_DEPTH}.",
    )

    @field_validator("query")
    @classmethod
    def _no_query(cls, value: str) -> str:
        if value:
            raise ValueError("the queries come from the labelled set; leave `query` out")
        return value


class EvaluateRetrievalConfig(StepConfig):
    """Score retrieval over a labelled query set (BEIR layout): nDCG, recall, MRR per mode."""

    dataset: str | None = Field(
        None,
        description="A BEIR-layout folder (queries.jsonl, qrels/<split>.tsv or qrels.tsv), "
        "relative to the workflow file. Its corpus.jsonl is what the workflow indexes.",
    )
    split: str | None = Field(
        None,
        description="qrels/<split>.tsv of the dataset; default: its qrels.tsv, else "
        "qrels/test.tsv, else its only split.",
    )
    queries: str | None = Field(
        None, description="A queries.jsonl file ({_id, text} per line), instead of the dataset's."
    )
    qrels: str | None = Field(
        None,
        description="A judgements file (query-id, corpus-id, score; tab-separated), instead "
        "of the dataset's.",
    )
    retrieve: RetrieveSettings = Field(
        description="How every query is searched: the keys of a `retrieve` step (store, mode, "
        "fusion, alpha, where, model, ...) but `query`."
    )
    modes: list[Mode] | None = Field(
        None,
        min_length=1,
        description="Modes to score side by side; default: `retrieve.mode` alone.",
    )
    k: int = Field(10, ge=1, le=100, description="The cut-off of nDCG@k, recall@k and MRR@k.")
    limit: int | None = Field(
        None, ge=1, description="Score only the first N labelled queries (in the file's order)."
    )
    batch_size: int = Field(256, ge=1, le=4096, description="Queries embedded per model call.")
    workers: int = Field(
        2, ge=1, le=32, description="Queries searched at once (LanceDB releases the GIL)."
    )
    gates: dict[str, float] = Field(
        default_factory=dict,
        description="Minimum scores, e.g. {ndcg@10: 0.7} for `retrieve.mode`, or "
        "{fulltext.recall@10: 0.8} for another mode of `modes`.",
    )
    on_gate_fail: Literal["fail", "warn"] = "fail"
    record: bool = Field(True, description="Store the scores for `ragline eval compare`.")
    rankings: bool = Field(
        False, description="Put every query's ranked document ids in the output (large)."
    )


class ModeScores(BaseModel):
    """One mode's scores and speed over the labelled queries."""

    metrics: dict[str, float]
    queries_per_second: float = Field(description="Searches per second (embedding excluded).")
    p50_ms: float = Field(description="Median time of one search.")


class EvaluateRetrievalResult(BaseModel):
    dataset: str
    queries: int = Field(description="Labelled queries scored.")
    k: int
    mode: str = Field(description="The mode `metrics` and unqualified gates are about.")
    metrics: dict[str, float] = Field(description="Scores of `mode`.")
    modes: dict[str, ModeScores]
    embed_seconds: float = Field(0.0, description="Time spent embedding the queries.")
    queries_per_second: float = Field(
        0.0, description="Labelled queries per second over the whole step (embedding included)."
    )
    failed_gates: list[str] = Field(default_factory=list)
    rankings: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict, description="mode -> query id -> document ids, best first."
    )


# -- checks shared by `ragline validate` and the run -------------------------------


def _modes(modes: Any, primary: Any) -> list[str]:
    if isinstance(modes, list) and modes:
        return [str(m) for m in modes]
    return [str(primary or "hybrid")]


def option_problems(
    k: Any, depth: Any, modes: Sequence[str], primary: str, gates: Any
) -> list[tuple[tuple[str | int, ...], str]]:
    """Cut-offs and gates that cannot be met as written; (relative path, message) pairs."""
    from ragline.spec.diagnostics import did_you_mean

    problems: list[tuple[tuple[str | int, ...], str]] = []
    if isinstance(k, int) and isinstance(depth, int) and depth < k:
        problems.append(
            (
                ("retrieve", "k"),
                f"retrieve.k ({depth}) is smaller than k ({k}): fewer than {k} documents "
                f"could be ranked; fetch at least {k} chunks per query (or leave retrieve.k "
                f"out: {DEPTH_FACTOR} x k, at least {MIN_DEPTH})",
            )
        )
    for name in gates if isinstance(gates, dict) else {}:
        found = _GATE.match(str(name))
        examples = f"ndcg@{k}, recall@{k}, mrr@{k}, or <mode>.ndcg@{k}"
        if found is None or found["metric"] not in METRICS:
            close = did_you_mean(str(name), [f"{m}@{k}" for m in METRICS])
            problems.append((("gates", name), f"unknown metric '{name}'{close} ({examples})"))
            continue
        if isinstance(k, int) and int(found["k"]) != k:
            problems.append(
                (
                    ("gates", name),
                    f"'{name}' is not computed: this step scores at k = {k}; gate on "
                    f"{found['metric']}@{k}, or set `k: {int(found['k'])}`",
                )
            )
        mode = found["mode"]
        if mode is None and primary not in modes:
            problems.append(
                (
                    ("gates", name),
                    f"'{name}' gates retrieve.mode ({primary}), which is not scored (modes: "
                    f"{', '.join(modes)}); add it to `modes`, or write <mode>.{name}",
                )
            )
        if mode is not None and mode not in modes:
            problems.append(
                (
                    ("gates", name),
                    f"'{name}' gates mode '{mode}', which is not scored (modes: "
                    f"{', '.join(modes)}){did_you_mean(mode, MODES)}",
                )
            )
    return problems


def _has_expression(value: Any) -> bool:
    return isinstance(value, str) and "${{" in value


def _files_problem(
    raw: dict[str, Any], workflow_dir: Path
) -> tuple[tuple[str | int, ...], str] | None:
    from ragline.evaluation.labelled import LabelledSetError, locate

    keys = ("dataset", "split", "queries", "qrels")
    values = {key: raw.get(key) for key in keys}
    if any(_has_expression(v) for v in values.values()):
        return None  # known at run time only
    if not all(v is None or isinstance(v, str) for v in values.values()):
        return None  # the schema says what is wrong

    def path(key: str) -> Path | None:
        value = values[key]
        return workflow_dir / Path(value).expanduser() if isinstance(value, str) else None

    try:
        locate(path("dataset"), values["split"], path("queries"), path("qrels"))
    except LabelledSetError as err:
        field = err.field if err.field in raw else next((k for k in keys if k in raw), "")
        return ((field,) if field else (), str(err))
    return None


def check_evaluate_retrieval(
    raw: dict[str, Any], workflow: dict[str, Any], workflow_dir: Any
) -> list[tuple[tuple[str | int, ...], str]]:
    """For `ragline validate`: the set's files exist, aliases are defined, gates can be met."""
    from ragline.spec.diagnostics import did_you_mean

    problems: list[tuple[tuple[str | int, ...], str]] = []
    if not any(key in raw for key in ("dataset", "queries", "qrels")):
        problems.append(((), _NAME_THE_SET))
    else:
        found = _files_problem(raw, Path(workflow_dir))
        if found:
            problems.append(found)
    given = raw.get("retrieve")
    options: dict[str, Any] = given if isinstance(given, dict) else {}
    for key, section, noun in (("store", "stores", "store"), ("model", "models", "model alias")):
        value = options.get(key)
        entries = workflow.get(section)
        defined: dict[str, Any] = entries if isinstance(entries, dict) else {}
        if isinstance(value, str) and not _has_expression(value) and value not in defined:
            hint = did_you_mean(value, defined) or (
                f" (defined: {', '.join(defined)})"
                if defined
                else f"; define it under '{section}:'"
            )
            problems.append((("retrieve", key), f"unknown {noun} '{value}'{hint}"))
    k = raw.get("k", 10)
    modes = _modes(raw.get("modes"), options.get("mode"))
    primary = str(options.get("mode") or "hybrid")
    problems += option_problems(k, options.get("k"), modes, primary, raw.get("gates"))
    return problems


# -- the step ------------------------------------------------------------------------


@step(
    "evaluate-retrieval",
    config=EvaluateRetrievalConfig,
    version="1",
    cache=False,
    check=check_evaluate_retrieval,
)
def evaluate_retrieval(
    config: EvaluateRetrievalConfig, ctx: StepContext
) -> EvaluateRetrievalResult:
    """Load the set, embed its queries in batches, search each mode, score, publish, gate."""
    from ragline.store.run_tables import open_store

    started = time.perf_counter()
    options = config.retrieve
    modes = list(dict.fromkeys(config.modes or [options.mode]))
    problems = option_problems(config.k, options.k, modes, options.mode, config.gates)
    if problems:
        raise StepError("; ".join(m for _, m in problems), category=ErrorCategory.INPUT)
    labelled = _load(config, ctx)
    query_ids = labelled.labelled[: config.limit] if config.limit else labelled.labelled
    if not query_ids:
        raise StepError(
            f"no query of {labelled.name} has a relevant document in its judgements",
            category=ErrorCategory.INPUT,
        )
    table = open_store(ctx, options.store)
    table.require()
    _check_judged_documents(labelled, query_ids, table, options.store, ctx)
    depth = options.k or max(MIN_DEPTH, DEPTH_FACTOR * config.k)
    base = options.model_dump(exclude={"query", "k", "mode"}, exclude_unset=True)
    embed_seconds, vectors = 0.0, None
    if any(mode != "fulltext" for mode in modes):
        began = time.perf_counter()
        vectors = _embed_queries(config, ctx, table, [labelled.queries[q] for q in query_ids])
        embed_seconds = time.perf_counter() - began
    known = labelled.documents
    scores: dict[str, ModeScores] = {}
    rankings: dict[str, dict[str, list[str]]] = {}
    for mode in modes:
        configs = [
            RetrieveConfig(query=labelled.queries[q], k=depth, mode=mode, **base) for q in query_ids
        ]
        ranked, times, wall = _search(configs, vectors, ctx, known, config.workers)
        rankings[mode] = dict(zip(query_ids, ranked, strict=True))
        scores[mode] = ModeScores(
            metrics=_mean(rankings[mode], labelled.qrels, config.k),
            queries_per_second=len(query_ids) / wall if wall else 0.0,
            p50_ms=1000 * sorted(times)[len(times) // 2],
        )
        ctx.logger.info(
            "%s: %s over %d queries, %.1f queries/s",
            mode,
            ", ".join(f"{n} {v:.4f}" for n, v in scores[mode].metrics.items()),
            len(query_ids),
            scores[mode].queries_per_second,
        )
    primary = options.mode if options.mode in scores else modes[0]
    failed = _failed_gates(config.gates, scores, primary)
    elapsed = time.perf_counter() - started
    result = EvaluateRetrievalResult(
        dataset=labelled.name,
        queries=len(query_ids),
        k=config.k,
        mode=primary,
        metrics=scores[primary].metrics,
        modes=scores,
        embed_seconds=round(embed_seconds, 3),
        queries_per_second=len(query_ids) / elapsed if elapsed else 0.0,
        failed_gates=failed,
        rankings=rankings if config.rankings else {},
    )
    ctx.metrics.pop("retrieved", None)  # set by each search; the step's own figures follow
    ctx.metrics.update({"queries": len(query_ids), "modes": len(modes)})
    _publish(config, ctx, result)
    if config.record:
        _record(ctx, result)
    if failed and config.on_gate_fail == "fail":
        raise StepError(
            f"retrieval quality gate failed on {labelled.name} ({len(query_ids)} queries): "
            + "; ".join(failed),
            category=ErrorCategory.BUSINESS_LOGIC,
            retryable=False,
        )
    if failed:
        ctx.logger.warning("retrieval quality gate below threshold: %s", "; ".join(failed))
    return result


def _load(config: EvaluateRetrievalConfig, ctx: StepContext) -> Any:
    from ragline.evaluation.labelled import LabelledSetError, load, locate

    def path(value: str | None) -> Path | None:
        return ctx.resolve_path(value) if value is not None else None

    if config.dataset is None and (config.queries is None or config.qrels is None):
        raise StepError(_NAME_THE_SET, category=ErrorCategory.INPUT)
    dataset = path(config.dataset)
    try:
        files = locate(dataset, config.split, path(config.queries), path(config.qrels))
        labelled = load(files, name=dataset.name if dataset else files.queries.parent.name)
    except LabelledSetError as err:
        raise StepError(str(err), category=ErrorCategory.INPUT) from None
    if labelled.unanswerable:
        ctx.logger.warning(
            "%d judged query id(s) are not in %s and are left out, e.g. %s",
            len(labelled.unanswerable),
            files.queries.name,
            ", ".join(labelled.unanswerable[:5]),
        )
    return labelled


def _check_judged_documents(
    labelled: Any, query_ids: list[str], table: Any, store: str, ctx: StepContext
) -> None:
    """None of the judged documents in the store means the wrong corpus or id mapping."""
    from ragline.evaluation.labelled import labelled_document

    judged = {d for q in query_ids for d in labelled.qrels[q]}
    stored_ids = set(table.existing_ids().values())
    stored = {labelled_document(d, judged) for d in stored_ids}
    present = judged & stored
    if not present:
        raise StepError(
            f"none of the {len(judged)} documents judged relevant (e.g. "
            f"{', '.join(sorted(judged)[:3])}) is in store '{store}', whose documents are "
            f"e.g. {', '.join(sorted(stored_ids)[:3]) or 'none'}",
            category=ErrorCategory.INPUT,
            hint="index the set's corpus (for BEIR's corpus.jsonl: `ingest` with "
            "`id_field: _id`), so a document's id ends with the corpus-id the judgements use",
        )
    if len(present) < len(judged):
        ctx.logger.warning(
            "%d of %d judged documents are not in store '%s' (they count as not found), e.g. %s",
            len(judged) - len(present),
            len(judged),
            store,
            ", ".join(sorted(judged - present)[:5]),
        )


def _embed_queries(
    config: EvaluateRetrievalConfig, ctx: StepContext, table: Any, texts: list[str]
) -> list[list[float]]:
    """Every query's vector, `batch_size` queries per model call, through the retrieve alias."""
    from ragline.llm.service import model_service
    from ragline.steps.retrieve import query_alias

    probe = RetrieveConfig(query="-", **config.retrieve.model_dump(exclude={"query", "k"}))
    alias = query_alias(probe, ctx, table)
    service = model_service(ctx)
    vectors: list[list[float]] = []
    for start in range(0, len(texts), config.batch_size):
        batch, _ = service.embed(alias, texts[start : start + config.batch_size], ctx)
        vectors.extend(batch)
        ctx.progress(len(vectors), len(texts), "queries embedded")
    return vectors


def _search(
    configs: list[RetrieveConfig],
    vectors: list[list[float]] | None,
    ctx: StepContext,
    known: set[str],
    workers: int,
) -> tuple[list[list[str]], list[float], float]:
    """Each query through `retrieve`; documents ranked by their best chunk; timings."""
    from ragline.evaluation.labelled import rank_documents
    from ragline.steps.retrieve import retrieve

    def one(i: int) -> tuple[list[str], float]:
        began = time.perf_counter()
        vector = vectors[i] if vectors is not None and configs[i].mode != "fulltext" else None
        found: list[RetrievedChunk] = retrieve.func(configs[i], ctx, vector=vector)
        return rank_documents((c.document_id for c in found), known), time.perf_counter() - began

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(one, range(len(configs))))
    wall = time.perf_counter() - began
    return [d for d, _ in done], [t for _, t in done], wall


def _mean(
    rankings: dict[str, list[str]], qrels: dict[str, dict[str, float]], k: int
) -> dict[str, float]:
    from ragline.evaluation.labelled import mean_scores

    return mean_scores(rankings, qrels, k)


def _failed_gates(
    gates: dict[str, float], scores: dict[str, ModeScores], primary: str
) -> list[str]:
    failed = []
    for name, minimum in gates.items():
        mode, _, metric = name.rpartition(".")
        value = scores[mode or primary].metrics[metric]
        if value < minimum:
            failed.append(f"{mode or primary} {metric} = {value:.3f} < {minimum}")
    return failed


def _publish(
    config: EvaluateRetrievalConfig, ctx: StepContext, result: EvaluateRetrievalResult
) -> None:
    names = [f"{m}@{result.k}" for m in METRICS]
    rows = []
    for mode, scores in result.modes.items():
        gates = {
            name.rpartition(".")[2]: minimum
            for name, minimum in config.gates.items()
            if (name.rpartition(".")[0] or result.mode) == mode
        }
        rows.append(
            {
                "mode": mode,
                **{n: round(scores.metrics[n], 4) for n in names},
                "queries/s": round(scores.queries_per_second, 1),
                "p50 ms": round(scores.p50_ms, 1),
                "gates": ", ".join(f"{n} >= {v}" for n, v in gates.items()),
            }
        )
    header = ["mode", *names, "queries/s", "p50 ms"]
    lines = [
        f"### Retrieval on {result.dataset}: {result.queries} labelled queries, k = {result.k}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(str(r[h]) for h in header) + " |" for r in rows),
        "",
        f"Queries embedded in {result.embed_seconds:.1f} s (batches of {config.batch_size}); "
        f"{result.queries_per_second:.1f} labelled queries/s over the whole step.",
    ]
    if config.gates:
        verdict = "; ".join(result.failed_gates) if result.failed_gates else "all passed"
        lines.append(f"\nGates: {verdict}.")
    artifacts = ctx.metrics.setdefault("artifacts", [])
    artifacts.append(
        {
            "key": f"{ctx.step_id}-scores",
            "kind": "table",
            "data": rows,
            "description": f"retrieval scores of {ctx.step_id} on {result.dataset}",
        }
    )
    artifacts.append(
        {
            "key": f"{ctx.step_id}-report",
            "kind": "markdown",
            "data": "\n".join(lines),
            "description": f"retrieval evaluation of {ctx.step_id} on {result.dataset}",
        }
    )


def _record(ctx: StepContext, result: EvaluateRetrievalResult) -> None:
    from ragline.evaluation.scores import ScoreRecord, save, scores_path

    metrics = {
        (name if mode == result.mode else f"{mode}.{name}"): value
        for mode, scores in result.modes.items()
        for name, value in scores.metrics.items()
    }
    save(
        scores_path(ctx.state_dir),
        ScoreRecord(ctx.run.run_id, ctx.workflow.name, ctx.step_id, metrics),
    )
