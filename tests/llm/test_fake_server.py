"""The fake OpenAI server itself: behaviours per request, embeddings, request records."""

from __future__ import annotations

import httpx
import pytest

from ragline.llm._litellm import litellm
from ragline.testing.openai_server import FakeOpenAI


def test_serves_embeddings_through_litellm(openai_server: FakeOpenAI) -> None:
    response = litellm().embedding(
        model="openai/emb", input=["a", "b", "a"], api_base=openai_server.base_url, api_key="sk-x"
    )
    vectors = [item["embedding"] for item in response.data]
    assert len(vectors) == 3 and len(vectors[0]) == openai_server.embedding_dim
    assert vectors[0] == vectors[2] != vectors[1]
    assert openai_server.calls("emb")[0].path == "/v1/embeddings"


def test_a_header_chooses_the_behaviour_of_one_request(openai_server: FakeOpenAI) -> None:
    url = f"{openai_server.base_url}/chat/completions"
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    limited = httpx.post(url, json=body, headers={"X-Fake-Behavior": "429"})
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "0.2"
    assert httpx.post(url, json=body).json()["choices"][0]["message"]["content"] == "echo: hi"
    assert (
        "choices"
        not in httpx.post(url, json=body, headers={"X-Fake-Behavior": "no_choices"}).json()
    )
    assert [r.behavior for r in openai_server.calls("m")] == ["429", "ok", "no_choices"]


def test_scripts_run_in_order_then_the_default_applies(openai_server: FakeOpenAI) -> None:
    openai_server.set_behavior("m", "500")
    openai_server.script("m", ["429", "ok"])
    url = f"{openai_server.base_url}/chat/completions"
    codes = [httpx.post(url, json={"model": "m", "messages": []}).status_code for _ in range(3)]
    assert codes == [429, 200, 500]


def test_an_unknown_behaviour_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown behaviour 'teapot'"):
        FakeOpenAI().set_behavior("m", "teapot")
