"""What a step's cache key contains, seen through Prefect task run states.

A key holds the step's type, config, the inputs it reads, the fingerprints of
the steps whose output it reads, what stands behind every model alias it names,
and the workflow it belongs to; a `needs:` edge only orders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ragline.compiler.flow import compile_workflow
from ragline.sdk.registry import Registry, discover
from ragline.testing.fixtures import TEST_KEY_ENV, fake_deployments, write_workflow
from ragline.testing.openai_server import FakeOpenAI
from ragline.validation.workflow import load_workflow

HERE = Path(__file__).resolve().parent
PROMPTS = HERE.parent.parent / "workflows" / "prompts"


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("RAGLINE_PLUGINS", "ragline_test_steps")
    monkeypatch.setenv(TEST_KEY_ENV, "sk-test-cache-keys")
    return discover()


def run(path: Path, registry: Registry, **params: Any) -> tuple[dict[str, str], Any]:
    """Run the workflow; (step id -> final task-run state name, the flow's result)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.client.schemas.sorting import TaskRunSort

    state = compile_workflow(load_workflow(path, registry), registry)(**params, return_state=True)
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id])
            ),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=100,
        )
    return {r.name: r.state.name for r in runs if r.state}, state.result()


def _corpus(folder: Path) -> None:
    docs = folder / "docs"
    docs.mkdir()
    (docs / "cache.md").write_text(
        "# Caching\n\nA step whose fingerprint is unchanged is served from the cache.\n"
    )
    (docs / "needs.md").write_text(
        "# Ordering\n\nA needs edge makes a step wait for another without reading it.\n"
    )


def _docs_qa(
    folder: Path, embedder: list[dict[str, Any]], index_options: dict[str, Any] | None = None
) -> Path:
    """docs_qa.yaml's shape: a guard on the question that ingestion `needs`."""
    (folder / "prompts").mkdir(exist_ok=True)
    (folder / "prompts" / "answer.j2").write_text((PROMPTS / "answer.j2").read_text())
    return write_workflow(
        folder,
        {
            "name": "docs-qa-like",
            "inputs": {"question": {"type": "string"}},
            "models": {"answer": [{"model": "local/extractive"}], "embedder": embedder},
            "stores": {"docs": {"uri": ".ragline/lancedb", "table": "docs"}},
            "steps": [
                {
                    "id": "guard",
                    "uses": "safety-check",
                    "with": {
                        "text": "${{ inputs.question }}",
                        "checks": ["injection"],
                        "on_fail": "block",
                    },
                },
                {
                    "id": "ingest",
                    "uses": "ingest",
                    "needs": ["guard"],
                    "with": {"paths": ["docs/*.md"]},
                },
                {
                    "id": "chunk",
                    "uses": "chunk",
                    "with": {"documents": "${{ steps.ingest.output }}", "size": 100, "overlap": 10},
                },
                {
                    "id": "embed",
                    "uses": "embed",
                    "with": {"chunks": "${{ steps.chunk.output }}", "model": "embedder"},
                },
                {
                    "id": "index",
                    "uses": "index",
                    "with": {
                        "chunks": "${{ steps.embed.output }}",
                        "store": "docs",
                        "sync": True,
                        **(index_options or {}),
                    },
                },
                {
                    "id": "retrieve",
                    "uses": "retrieve",
                    "needs": ["index"],
                    "with": {
                        "query": "${{ steps.guard.output.text }}",
                        "store": "docs",
                        "k": 2,
                        "model": "embedder",
                    },
                },
                {
                    "id": "prompt",
                    "uses": "prompt",
                    "with": {
                        "template": "prompts/answer.j2",
                        "vars": {
                            "question": "${{ steps.guard.output.text }}",
                            "contexts": "${{ steps.retrieve.output }}",
                        },
                    },
                },
                {
                    "id": "generate",
                    "uses": "generate",
                    "with": {
                        "model": "answer",
                        "prompt": "${{ steps.prompt.output }}",
                        "temperature": 0,
                    },
                },
            ],
            "outputs": {
                "answer": "${{ steps.generate.output.text }}",
                "dim": "${{ steps.embed.output }}",
                "index": "${{ steps.index.output }}",
            },
        },
    )


@pytest.mark.integration
def test_a_new_question_reruns_only_the_query_side_steps(
    tmp_path: Path, registry: Registry, prefect: str, openai_server: FakeOpenAI
) -> None:
    _corpus(tmp_path)
    path = _docs_qa(tmp_path, fake_deployments(openai_server, "embed-small"))
    first, _ = run(path, registry, question="What is served from the cache?")
    assert set(first.values()) == {"Completed"}
    second, result = run(path, registry, question="What does a needs edge do?")
    assert {s: second[s] for s in ("ingest", "chunk", "embed")} == dict.fromkeys(
        ("ingest", "chunk", "embed"), "Cached"
    )
    assert {s: second[s] for s in ("guard", "retrieve", "prompt", "generate")} == dict.fromkeys(
        ("guard", "retrieve", "prompt", "generate"), "Completed"
    )
    assert "needs" in result["answer"]


@pytest.mark.integration
def test_pointing_the_embedder_alias_at_another_model_re_embeds_and_re_indexes(
    tmp_path: Path, registry: Registry, prefect: str, openai_server: FakeOpenAI
) -> None:
    _corpus(tmp_path)
    path = _docs_qa(tmp_path, [{"model": "local/all-MiniLM-L6-v2"}])
    states, local = run(path, registry, question="What is cached?")
    assert states["embed"] == "Completed"
    assert {len(c["vector"]) for c in _dump(local["dim"])} == {384}

    # The table holds MiniLM vectors: by default index refuses the new model's, naming both.
    _docs_qa(tmp_path, fake_deployments(openai_server, "embed-small"))
    refused = compile_workflow(load_workflow(path, registry), registry)(
        question="What is cached?", return_state=True
    )
    assert refused.is_failed()
    assert "holds vectors made by local/all-MiniLM-L6-v2" in str(refused.message)

    # Asked to, it re-embeds with the new model and rebuilds the table.
    _docs_qa(
        tmp_path, fake_deployments(openai_server, "embed-small"), {"on_model_change": "rebuild"}
    )
    states, remote = run(path, registry, question="What is cached?")
    assert states["embed"] in ("Completed", "Cached")  # embedded by the refused run already
    assert {len(c["vector"]) for c in _dump(remote["dim"])} == {openai_server.embedding_dim}
    assert len(openai_server.calls("embed-small")) >= 2  # the chunks, then the query
    index = _dump(remote["index"])
    assert index["added"] == index["rows"] == len(_dump(local["dim"]))
    assert index["unchanged"] == 0
    assert "served from the cache" in remote["answer"]


@pytest.mark.integration
def test_two_workflows_of_one_folder_do_not_share_a_cached_step(
    tmp_path: Path, registry: Registry, prefect: str
) -> None:
    log = tmp_path / "ran.log"
    step = {"id": "load", "uses": "count", "with": {"log": str(log), "value": 1}}
    one = write_workflow(tmp_path, {"name": "one", "steps": [step]}, "one.yaml")
    two = write_workflow(tmp_path, {"name": "two", "steps": [step]}, "two.yaml")
    assert run(one, registry)[0] == {"load": "Completed"}
    assert run(two, registry)[0] == {"load": "Completed"}
    assert run(one, registry)[0] == {"load": "Cached"}
    assert log.read_text().splitlines() == ["load", "load"]


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value.model_dump() if hasattr(value, "model_dump") else value
