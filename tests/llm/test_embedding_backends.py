"""The local MiniLM on each backend: the same vectors and rankings as torch, through
LiteLLM like any model, and an ONNX export made once per machine, safely shared
by processes that start at the same time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from ragline.llm.providers import minilm, onnx_minilm
from ragline.spec.model import Workflow

SRC = Path(__file__).resolve().parents[2] / "src"

PASSAGES = [
    "LanceDB stores vectors in a folder next to the workflow file.",
    "Prefect retries a task after a timeout or a rate limit.",
    "The cat slept on the warm windowsill all afternoon.",
    "Int8 quantization shrinks the weights of a neural network to one byte each.",
    "The Eiffel Tower is in Paris and was finished in 1889.",
    "Photosynthesis turns light, water and carbon dioxide into sugar.",
]
QUERIES = [
    "where are the vectors kept on disk",
    "what happens when a task times out",
    "a sleeping pet",
    "making model weights smaller",
    "famous landmark in France",
    "how do plants make food",
]


@pytest.fixture(scope="module", autouse=True)
def export_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One export cache for the session's tests, never the user's own."""
    folder = tmp_path_factory.getbasetemp() / "model-cache"
    previous = os.environ.get(onnx_minilm.CACHE_ENV)
    os.environ[onnx_minilm.CACHE_ENV] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(onnx_minilm.CACHE_ENV, None)
    else:
        os.environ[onnx_minilm.CACHE_ENV] = previous


@pytest.mark.parametrize(("backend", "mean_cosine"), [("onnx", 0.9999), ("onnx-int8", 0.99)])
def test_each_backend_gives_the_torch_vectors_and_rankings(
    backend: str, mean_cosine: float
) -> None:
    reference = minilm.embed_array(PASSAGES + QUERIES, "torch")
    vectors = minilm.embed_array(PASSAGES + QUERIES, backend)

    assert vectors.shape == (12, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosine = (vectors * reference).sum(axis=1)
    assert cosine.mean() >= mean_cosine and cosine.min() >= mean_cosine - 0.01

    def ranking(v: np.ndarray) -> list[list[int]]:
        scores = v[len(PASSAGES) :] @ v[: len(PASSAGES)].T
        return np.argsort(-scores, axis=1)[:, :3].tolist()

    assert [r[0] for r in ranking(vectors)] == list(range(len(QUERIES)))  # each finds its own
    assert [r[0] for r in ranking(vectors)] == [r[0] for r in ranking(reference)]


def test_a_deployment_chooses_its_backend_through_litellm(service) -> None:
    svc = service(
        models={
            "torch": [{"model": "local/all-MiniLM-L6-v2"}],
            "int8": [{"model": "local/all-MiniLM-L6-v2", "backend": "onnx-int8"}],
        }
    )
    by_torch, _ = svc.embed("torch", PASSAGES[:2])
    by_int8, usage = svc.embed("int8", PASSAGES[:2])
    assert usage.model == "local/all-MiniLM-L6-v2" and len(by_int8[0]) == 384
    cosine = [float(np.dot(a, b)) for a, b in zip(by_torch, by_int8, strict=True)]
    assert min(cosine) > 0.99 and max(cosine) < 0.99999  # close, and not the torch vectors
    assert np.allclose(by_int8, minilm.embed_array(PASSAGES[:2], "onnx-int8"), atol=1e-6)


def test_a_backend_is_only_for_local_models() -> None:
    with pytest.raises(ValidationError, match=r"backend applies to local embedding models"):
        Workflow.model_validate(
            {
                "apiVersion": "ragline/v1",
                "name": "x",
                "models": {"e": [{"model": "openai/text-embedding-3-small", "backend": "onnx"}]},
                "steps": [{"id": "a", "uses": "value", "with": {"value": 1}}],
            }
        )
    with pytest.raises(ValidationError, match=r"'torch', 'onnx' or 'onnx-int8'"):
        Workflow.model_validate(
            {
                "apiVersion": "ragline/v1",
                "name": "x",
                "models": {"e": [{"model": "local/all-MiniLM-L6-v2", "backend": "tensorrt"}]},
                "steps": [{"id": "a", "uses": "value", "with": {"value": 1}}],
            }
        )


EXPORT = """
import json, os, sys
from ragline.llm.providers import onnx_minilm
folder = onnx_minilm.export_path(sys.argv[1])
manifest = json.loads((folder / "manifest.json").read_text())
print(json.dumps({"folder": str(folder), "exported_by": manifest["pid"], "me": os.getpid()}))
"""


def start_export(cache: Path, backend: str = "onnx") -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        onnx_minilm.CACHE_ENV: str(cache),
    }
    return subprocess.Popen(
        [sys.executable, "-c", EXPORT, backend],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> tuple[dict[str, object], str]:
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), err


@pytest.mark.integration
def test_a_second_process_reuses_the_export(tmp_path: Path) -> None:
    first, first_log = finish(start_export(tmp_path))
    assert first["exported_by"] == first["me"]
    assert "exporting all-MiniLM-L6-v2 to ONNX (onnx), once" in first_log  # progress shown

    second, second_log = finish(start_export(tmp_path))
    assert second["folder"] == first["folder"]
    assert second["exported_by"] == first["me"] != second["me"]  # found, not made again
    assert "exporting" not in second_log
    manifest = json.loads((Path(str(first["folder"])) / "manifest.json").read_text())
    assert manifest["weights_sha256"] == onnx_minilm.weights_hash(
        onnx_minilm.model_dir() / "model.safetensors"
    )
    assert manifest["backend"] == "onnx"


@pytest.mark.integration
def test_two_processes_exporting_at_once_make_one_good_export(tmp_path: Path) -> None:
    racing = [start_export(tmp_path), start_export(tmp_path)]
    results = [finish(p) for p in racing]

    folders = {str(r["folder"]) for r, _ in results}
    assert len(folders) == 1
    exporters = [r for r, _ in results if r["exported_by"] == r["me"]]
    assert len(exporters) == 1  # the other waited on the lock and took the finished export
    assert sum("exporting" in log for _, log in results) == 1
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no half-written scratch folder

    os.environ[onnx_minilm.CACHE_ENV] = str(tmp_path)  # the fixture restores it
    encoder = onnx_minilm.OnnxEncoder("onnx")
    assert str(encoder.folder) in folders
    vectors = encoder.encode(PASSAGES, batch_size=4)
    assert ((vectors * minilm.embed_array(PASSAGES, "torch")).sum(axis=1) > 0.9999).all()
