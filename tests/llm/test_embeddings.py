"""Embeddings through the same Router: the local model and an OpenAI-compatible server."""

from __future__ import annotations

import math

import pytest

from ragline.errors import StepError
from ragline.testing.fixtures import fake_deployments
from ragline.testing.openai_server import FakeOpenAI


def test_the_local_minilm_model_embeds_in_one_call(service) -> None:
    svc = service(models={"embedder": [{"model": "local/all-MiniLM-L6-v2"}]})
    vectors, usage = svc.embed(
        "embedder", ["vectors live in LanceDB", "LanceDB stores vectors", "cats"]
    )
    assert len(vectors) == 3 and len(vectors[0]) == 384
    assert math.isclose(sum(x * x for x in vectors[0]), 1.0, rel_tol=1e-4)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cos(vectors[0], vectors[1]) > cos(vectors[0], vectors[2])
    assert usage.model == "local/all-MiniLM-L6-v2" and usage.calls == 1


def test_remote_embeddings_fall_back_to_the_local_model(openai_server: FakeOpenAI, service) -> None:
    openai_server.set_behavior("emb", "500")
    svc = service(
        models={
            "embedder": fake_deployments(openai_server, "emb"),
            "embedder-local": [{"model": "local/all-MiniLM-L6-v2"}],
        },
        routing={"num_retries": 0, "fallbacks": {"embedder": ["embedder-local"]}},
    )
    vectors, usage = svc.embed("embedder", ["a", "b"])
    assert len(vectors) == 2 and len(vectors[0]) == 384
    assert usage.model == "local/all-MiniLM-L6-v2"


def test_embeddings_from_an_openai_compatible_server(openai_server: FakeOpenAI, service) -> None:
    svc = service(models={"embedder": fake_deployments(openai_server, "emb")})
    vectors, usage = svc.embed("embedder", ["x", "y"])
    assert [len(v) for v in vectors] == [8, 8]
    assert usage.model == "openai/emb"
    assert openai_server.calls("emb")[0].body["input"] == ["x", "y"]


def test_an_unknown_local_embedding_model_names_the_known_one(service) -> None:
    svc = service(models={"embedder": [{"model": "local/bge-large"}]}, routing={"num_retries": 0})
    with pytest.raises(StepError, match="unknown local embedding model 'bge-large'"):
        svc.embed("embedder", ["x"])
